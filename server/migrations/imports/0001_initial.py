from tortoise import migrations
from tortoise.migrations import operations as ops
from server.imports.models import OverrideSource, Settlement
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_audit_staff_id_index')]

    initial = True

    operations = [
        ops.CreateModel(
            name='MemberFieldOverride',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='field_overrides', on_delete=OnDelete.CASCADE)),
                ('field', fields.CharField(max_length=30)),
                ('value', fields.CharField(max_length=300)),
                ('previous', fields.CharField(db_default='', max_length=300)),
                ('source', fields.CharEnumField(description='CHANGE_REQUEST: change_request\nWITHDRAWAL: withdrawal', enum_type=OverrideSource, max_length=20)),
                ('change_request_id', fields.IntField(null=True, db_index=True)),
                ('recorded_by', fields.IntField(null=True)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('settled_how', fields.CharEnumField(null=True, description='CONFIRMED: confirmed\nOVERWRITTEN: overwritten\nSUPERSEDED: superseded', enum_type=Settlement, max_length=12)),
                ('settled_by_file', fields.CharField(null=True, max_length=255)),
                ('settled_sha256', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'member_field_override', 'app': 'imports', 'pk_attr': 'id', 'table_description': 'One member field set in the console, kept against older files until a file settles it.'},
            bases=['Model'],
        ),
    ]
