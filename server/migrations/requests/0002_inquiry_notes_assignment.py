from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

from server.migrations.operations import AddColumnIndex

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('requests', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InquiryNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('inquiry', fields.ForeignKeyField('requests.Inquiry', source_field='inquiry_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('staff_id', fields.IntField()),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inquiry_note', 'app': 'requests', 'pk_attr': 'id', 'table_description': "A staff member's internal note on an inquiry, never shown or mailed to the member."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Inquiry',
            name='assigned_staff_id',
            field=fields.IntField(null=True, db_index=True),
        ),
        # AddField does not create the column's index; this does (and nothing else).
        AddColumnIndex(
            model_name='Inquiry',
            name='assigned_staff_id',
            field=fields.IntField(null=True, db_index=True),
        ),
    ]
