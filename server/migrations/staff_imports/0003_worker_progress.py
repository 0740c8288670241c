from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from server.migrations.operations import DescribeEnum
from server.staff.imports.models import UploadState


class Migration(migrations.Migration):
    """Staff imports applied by the outbox worker: queued and failed, progress, the reason."""

    dependencies = [("staff", "0001_initial"), ("staff_imports", "0002_kept_facts")]

    initial = False

    operations = [
        DescribeEnum(
            model_name="ImportUpload",
            name="state",
            field=fields.CharEnumField(
                db_index=True,
                description="CHECKED: checked\nREJECTED: rejected\nQUEUED: queued\nAPPLYING: applying\nAPPLIED: applied\nFAILED: failed",
                enum_type=UploadState,
                max_length=10,
            ),
        ),
        ops.AddField(
            model_name="ImportUpload",
            name="failure",
            field=fields.CharField(db_default="", max_length=500),
        ),
        ops.AddField(
            model_name="ImportUpload",
            name="progress_done",
            field=fields.IntField(db_default=0),
        ),
        ops.AddField(
            model_name="ImportUpload",
            name="progress_message",
            field=fields.CharField(db_default="", max_length=200),
        ),
        ops.AddField(
            model_name="ImportUpload",
            name="progress_total",
            field=fields.IntField(db_default=0),
        ),
    ]
