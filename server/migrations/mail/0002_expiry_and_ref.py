from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from server.outbox.models import OutboxStatus
from server.migrations.operations import AddColumnIndex


class DescribeStatus(ops.AlterField):
    """The new status in the migration state only: the column (varchar 10) takes it as is.

    On SQLite, Tortoise's AlterField rebuilds the table, and the rebuilt table
    loses its other indexes (next_attempt_at, the unique dedupe_key).
    """

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        return None

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [("mail", "0001_initial")]

    initial = False

    operations = [
        DescribeStatus(
            model_name="OutboxMessage",
            name="status",
            field=fields.CharEnumField(
                description="PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed\nEXPIRED: expired",
                db_default="pending",
                enum_type=OutboxStatus,
                max_length=10,
            ),
        ),
        ops.AddField(
            model_name="OutboxMessage",
            name="expires_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="OutboxMessage",
            name="ref",
            field=fields.CharField(null=True, max_length=100),
        ),
        # Tortoise's AddField leaves db_index out of the database: add it by name.
        AddColumnIndex(
            model_name="OutboxMessage",
            name="ref",
            field=fields.CharField(null=True, db_index=True, max_length=100),
        ),
    ]
