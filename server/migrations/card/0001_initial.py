from tortoise import migrations
from tortoise.migrations import operations as ops
from server.card.models import IssuedBy
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_audit_staff_id_index')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CardCertificate',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=16)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_index=True, db_constraint=True, to_field='id', related_name='card_certificates', on_delete=OnDelete.CASCADE)),
                ('device_public_key', fields.CharField(max_length=100)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.CharField(db_default='', max_length=40)),
                ('superseded_by', fields.CharField(null=True, max_length=16)),
                ('replaced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('issued_by', fields.CharEnumField(description='SESSION: session\nRENEWAL: renewal', enum_type=IssuedBy, max_length=10)),
            ],
            options={'table': 'card_certificate', 'app': 'card', 'pk_attr': 'id', 'table_description': 'One signed card certificate (the signed bytes live on the device, not here).'},
            bases=['Model'],
        ),
    ]
