from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_audit_staff_id_index')]

    initial = True

    operations = [
        ops.CreateModel(
            name='HomeSeen',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='home_seen', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=12)),
                ('ref', fields.CharField(max_length=20)),
                ('seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'home_seen', 'app': 'pages', 'unique_together': (('member', 'kind', 'ref'),), 'pk_attr': 'id', 'table_description': 'The member opened this statement, inquiry or change request page at seen_at.'},
            bases=['Model'],
        ),
    ]
