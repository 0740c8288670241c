from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='AuditEvent',
            name='staff_id',
            field=fields.IntField(null=True, db_index=True),
        ),
    ]
