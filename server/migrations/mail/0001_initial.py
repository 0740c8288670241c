from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from server.outbox.models import OutboxStatus
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharField(max_length=20)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('status', fields.CharEnumField(description='PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed', db_default='pending', enum_type=OutboxStatus, max_length=10)),
                ('attempts', fields.IntField(db_default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(db_default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_message', 'app': 'mail', 'pk_attr': 'id', 'table_description': 'One message to deliver on a channel, written in the transaction of the change it reports.'},
            bases=['Model'],
        ),
    ]
