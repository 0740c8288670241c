from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('staff', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CoopNotice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=100)),
                ('body', fields.TextField(unique=False)),
                ('starts_on', fields.DateField(db_index=True)),
                ('ends_on', fields.DateField(null=True)),
                ('created_by', fields.ForeignKeyField('staff.StaffUser', source_field='created_by_id', db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pushed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'coop_notice', 'app': 'notices', 'pk_attr': 'id', 'table_description': 'A notice from the co-op to every member, shown on the home page between two dates.'},
            bases=['Model'],
        ),
    ]
