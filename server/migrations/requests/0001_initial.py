from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from server.requests.models import ChangeGroup, ChangeState
from server.inquiries.models import InquiryCategory, InquiryState
from server.help.models import DocumentKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='ChangeRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='change_requests', on_delete=OnDelete.CASCADE)),
                ('group', fields.CharEnumField(description='NAME: name\nADDRESS: address\nPHONE: phone', enum_type=ChangeGroup, max_length=10)),
                ('state', fields.CharEnumField(db_index=True, description='RECEIVED: received\nPROCESSING: processing\nAPPLIED: applied\nRETURNED: returned\nREPLACED: replaced', enum_type=ChangeState, max_length=12)),
                ('current_values', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('new_values', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('submitted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expected_on', fields.DateField()),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('staff_comment', fields.TextField(db_default='', unique=False)),
                ('note', fields.CharField(db_default='', max_length=300)),
                ('staff_id', fields.IntField(null=True)),
            ],
            options={'table': 'change_request', 'app': 'requests', 'pk_attr': 'id', 'table_description': "A member's request to change registered data, with the values beside the old ones."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Document',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(db_index=True, description='JOIN: join\nLEAVE: leave', enum_type=DocumentKind, max_length=10)),
                ('title', fields.CharField(max_length=100)),
                ('filename', fields.CharField(max_length=100)),
                ('stored_name', fields.CharField(unique=True, max_length=100)),
                ('size', fields.IntField()),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('staff_id', fields.IntField(null=True)),
                ('active', fields.BooleanField(db_default=True)),
            ],
            options={'table': 'document', 'app': 'requests', 'pk_attr': 'id', 'table_description': 'A PDF form uploaded by staff, its file kept under the data directory.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EmailChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('core.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='email_changes', on_delete=OnDelete.CASCADE)),
                ('new_email', fields.CharField(max_length=254)),
                ('code_hash', fields.CharField(max_length=64)),
                ('attempts', fields.IntField(db_default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_change', 'app': 'requests', 'pk_attr': 'id', 'table_description': 'A new sign-in address waiting for the six-digit code mailed to it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Inquiry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('receipt_no', fields.CharField(unique=True, max_length=20)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='inquiries', on_delete=OnDelete.CASCADE)),
                ('category', fields.CharEnumField(description='WORKPLACE: workplace\nBILLING: billing\nPROFILE: profile\nCAPITAL: capital\nUSAGE: usage\nOTHER: other', enum_type=InquiryCategory, max_length=12)),
                ('message', fields.TextField(unique=False)),
                ('state', fields.CharEnumField(description='RECEIVED: received\nANSWERED: answered', db_default='received', enum_type=InquiryState, max_length=10)),
                ('reply_to', fields.CharField(db_default='', max_length=254)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inquiry', 'app': 'requests', 'pk_attr': 'id', 'table_description': 'A message from a member to the co-op, with its receipt number.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InquiryReply',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('inquiry', fields.ForeignKeyField('requests.Inquiry', source_field='inquiry_id', db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('staff_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inquiry_reply', 'app': 'requests', 'pk_attr': 'id', 'table_description': "A staff reply to an inquiry, shown in the member's history and mailed to them."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reauthentication',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('core.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='reauthentications', on_delete=OnDelete.CASCADE)),
                ('method', fields.CharField(max_length=20)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reauthentication', 'app': 'requests', 'pk_attr': 'id', 'table_description': 'A recent proof of identity in one session, for changes that need it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceStop',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='service_stops', on_delete=OnDelete.CASCADE)),
                ('account_id', fields.IntField(null=True)),
                ('email', fields.CharField(db_default='', max_length=254)),
                ('stopped_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'service_stop', 'app': 'requests', 'pk_attr': 'id', 'table_description': 'A member who stopped My Page and now gets paper statements (for a fee).'},
            bases=['Model'],
        ),
    ]
