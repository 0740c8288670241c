from tortoise import migrations
from tortoise.migrations import operations as ops
from server.staff.models import StaffRole
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='StaffUser',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=60)),
                ('role', fields.CharEnumField(description='OPERATOR: operator\nADMIN: admin', enum_type=StaffRole, max_length=10)),
                ('active', fields.BooleanField(db_default=True)),
                ('user_handle', fields.CharField(unique=True, max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_user', 'app': 'staff', 'pk_attr': 'id', 'table_description': "One member of the co-op's office staff (never a member account)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffPasskey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff', fields.ForeignKeyField('staff.StaffUser', source_field='staff_id', db_constraint=True, to_field='id', related_name='passkeys', on_delete=OnDelete.CASCADE)),
                ('credential_id', fields.CharField(unique=True, max_length=1400)),
                ('public_key', fields.BinaryField()),
                ('sign_count', fields.BigIntField(db_default=0)),
                ('name', fields.CharField(max_length=60)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_passkey', 'app': 'staff', 'pk_attr': 'id', 'table_description': 'A passkey of a staff member, the only way staff sign in.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('staff', fields.ForeignKeyField('staff.StaffUser', source_field='staff_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(db_default='', max_length=45)),
                ('user_agent', fields.CharField(db_default='', max_length=300)),
            ],
            options={'table': 'staff_session', 'app': 'staff', 'pk_attr': 'id', 'table_description': 'A signed-in staff browser, whose cookie token is stored only as a hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffSetupLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('staff', fields.ForeignKeyField('staff.StaffUser', source_field='staff_id', db_constraint=True, to_field='id', related_name='setup_links', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_setup_link', 'app': 'staff', 'pk_attr': 'id', 'table_description': 'A mailed one-time link for registering the first passkey of a staff member.'},
            bases=['Model'],
        ),
    ]
