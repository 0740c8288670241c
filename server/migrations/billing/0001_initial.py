from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CapitalRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='capital_records', on_delete=OnDelete.CASCADE)),
                ('fiscal_year', fields.IntField()),
                ('published_on', fields.DateField()),
                ('units', fields.IntField()),
                ('balance_yen', fields.BigIntField()),
            ],
            options={'table': 'capital_record', 'app': 'billing', 'unique_together': (('member', 'fiscal_year'),), 'pk_attr': 'id', 'table_description': 'Capital contribution of one member for one fiscal year, published in July.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatementLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='statement_lines', on_delete=OnDelete.CASCADE)),
                ('billing_month', fields.CharField(max_length=7)),
                ('billed_on', fields.DateField()),
                ('line_no', fields.IntField()),
                ('used_on', fields.DateField()),
                ('description', fields.CharField(max_length=200)),
                ('quantity', fields.IntField(db_default=1)),
                ('amount_yen', fields.IntField()),
            ],
            options={'table': 'statement_line', 'app': 'billing', 'unique_together': (('member', 'billing_month', 'line_no'),), 'pk_attr': 'id', 'table_description': 'One line of a monthly statement, keyed by member, billing month and line number.'},
            bases=['Model'],
        ),
    ]
