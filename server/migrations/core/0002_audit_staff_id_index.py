from tortoise import fields, migrations

from server.migrations.operations import AddColumnIndex


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    initial = False

    operations = [
        AddColumnIndex(
            model_name="AuditEvent",
            name="staff_id",
            field=fields.IntField(null=True, db_index=True),
        ),
    ]
