from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('account', '0001_initial'), ('core', '0002_audit_staff_id_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='KnownDevice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('core.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='known_devices', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(db_index=True, max_length=64)),
                ('user_agent', fields.CharField(db_default='', max_length=300)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'known_device', 'app': 'account', 'unique_together': (('account', 'token_hash'),), 'pk_attr': 'id', 'table_description': 'A browser this account has signed in from, known by its long-lived device cookie.'},
            bases=['Model'],
        ),
    ]
