from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from server.auth.models import AccountState
from server.members.models import Category, MemberStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('event', fields.CharField(db_index=True, max_length=60)),
                ('actor', fields.CharField(max_length=20)),
                ('member_id', fields.IntField(null=True, db_index=True)),
                ('account_id', fields.IntField(null=True)),
                ('staff_id', fields.IntField(null=True)),
                ('ip', fields.CharField(db_default='', max_length=45)),
                ('user_agent', fields.CharField(db_default='', max_length=300)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'audit_event', 'app': 'core', 'pk_attr': 'id', 'table_description': 'One recorded event, whose data never holds secrets such as passwords or codes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_no', fields.CharField(unique=True, max_length=8)),
                ('name', fields.CharField(max_length=100)),
                ('name_kana', fields.CharField(max_length=100)),
                ('birth_date', fields.DateField()),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(db_default='', max_length=20)),
                ('postal_code', fields.CharField(db_default='', max_length=8)),
                ('address', fields.CharField(db_default='', max_length=300)),
                ('workplace', fields.CharField(db_default='', max_length=200)),
                ('category', fields.CharEnumField(description='SERVING: 現職\nRETIRED: 退職', enum_type=Category, max_length=4)),
                ('joined_on', fields.DateField()),
                ('status', fields.CharEnumField(description='ACTIVE: active\nWITHDRAWING: withdrawing\nWITHDRAWN: withdrawn', db_default='active', enum_type=MemberStatus, max_length=12)),
                ('capital_refund_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'member', 'app': 'core', 'pk_attr': 'id', 'table_description': 'One co-op member, as the core system (the source of truth) knows them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='account', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('state', fields.CharEnumField(description='ACTIVE: active\nSTOPPED: stopped', db_default='active', enum_type=AccountState, max_length=10)),
                ('registered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('failed_count', fields.IntField(db_default=0)),
                ('block_count', fields.IntField(db_default=0)),
                ('blocked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'account', 'app': 'core', 'pk_attr': 'id', 'table_description': 'Sign-in identity of one member (their My Page registration).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('account', fields.ForeignKeyField('core.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('auth_method', fields.CharField(db_default='password', max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(db_default='', max_length=45)),
                ('user_agent', fields.CharField(db_default='', max_length=300)),
            ],
            options={'table': 'session', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A signed-in browser, whose cookie token is stored here only as a hash.'},
            bases=['Model'],
        ),
    ]
