"""Data only: drop the bodies that finished mail kept before bodies were purged on failure.

Sent and expired mail already lost its body; mail that failed for good kept
it (with its code or link) until now (ASVS 14.2.4). No schema change.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_SQLITE = (
    "UPDATE outbox_message SET payload = json_remove(payload, '$.body', '$.sealed_body')"
    " WHERE channel = 'mail' AND status IN ('sent', 'failed', 'expired')"
)
_POSTGRES = (
    "UPDATE outbox_message SET payload = payload - 'body' - 'sealed_body'"
    " WHERE channel = 'mail' AND status IN ('sent', 'failed', 'expired')"
)


async def purge(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    await client.execute_script(_POSTGRES if postgres else _SQLITE)


class Migration(migrations.Migration):
    dependencies = [("mail", "0002_expiry_and_ref")]

    initial = False

    operations = [ops.RunPython(purge, ops.RunPython.noop)]
