from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='PushPreference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='push_preference', on_delete=OnDelete.CASCADE)),
                ('new_statement', fields.BooleanField(db_default=True)),
                ('coop_notices', fields.BooleanField(db_default=False)),
                ('change_requests', fields.BooleanField(db_default=True)),
                ('security_alerts', fields.BooleanField(db_default=True)),
                ('mail_fallback', fields.BooleanField(db_default=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_preference', 'app': 'push', 'pk_attr': 'id', 'table_description': 'Which notices a member wants by push, and whether mail stands in without a device.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushSubscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_index=True, db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.CharField(unique=True, max_length=1000)),
                ('p256dh', fields.CharField(max_length=100)),
                ('auth', fields.CharField(max_length=40)),
                ('browser', fields.CharField(db_default='', max_length=40)),
                ('os', fields.CharField(db_default='', max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failures', fields.IntField(db_default=0)),
                ('last_error', fields.CharField(db_default='', max_length=200)),
            ],
            options={'table': 'push_subscription', 'app': 'push', 'pk_attr': 'id', 'table_description': 'One browser on one device that receives push notices for a member.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subscription', fields.ForeignKeyField('push.PushSubscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('notice_key', fields.CharField(max_length=60)),
                ('delivered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_delivery', 'app': 'push', 'unique_together': (('subscription', 'notice_key'),), 'pk_attr': 'id', 'table_description': 'A notice delivered to one device, recorded so that it is never sent there twice.'},
            bases=['Model'],
        ),
    ]
