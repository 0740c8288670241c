from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Passkey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('core.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='passkeys', on_delete=OnDelete.CASCADE)),
                ('credential_id', fields.CharField(unique=True, max_length=1400)),
                ('public_key', fields.BinaryField()),
                ('sign_count', fields.BigIntField(db_default=0)),
                ('aaguid', fields.CharField(db_default='', max_length=36)),
                ('name', fields.CharField(max_length=60)),
                ('transports', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('backup_eligible', fields.BooleanField(db_default=False)),
                ('backed_up', fields.BooleanField(db_default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'passkey', 'app': 'passkeys', 'pk_attr': 'id', 'table_description': 'One registered passkey (a WebAuthn public key credential) of an account.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PasskeyUser',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('core.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='passkey_user', on_delete=OnDelete.CASCADE)),
                ('user_handle', fields.CharField(unique=True, max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'passkey_user', 'app': 'passkeys', 'pk_attr': 'id', 'table_description': 'The random WebAuthn user handle of one account, the same for all its passkeys.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reauthentication',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.OneToOneField('core.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='reauthentication', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'passkey_reauthentication', 'app': 'passkeys', 'pk_attr': 'id', 'table_description': 'When the member of a session last re-entered the password (for adding passkeys).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebAuthnChallenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('challenge', fields.CharField(unique=True, max_length=100)),
                ('ceremony', fields.CharField(max_length=20)),
                ('account_id', fields.IntField(null=True)),
                ('binding_hash', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('consumed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webauthn_challenge', 'app': 'passkeys', 'pk_attr': 'id', 'table_description': 'A challenge handed to a browser, valid five minutes and usable exactly once.'},
            bases=['Model'],
        ),
    ]
