from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('account', '0002_known_devices'), ('core', '0001_initial'), ('core', '0002_audit_staff_id_index'), ('staff', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InitialPassword',
            name='issued_by',
            field=fields.ForeignKeyField('staff.StaffUser', source_field='issued_by_id', null=True, db_constraint=True, to_field='id', related_name='issued_initial_passwords', on_delete=OnDelete.SET_NULL),
        ),
    ]
