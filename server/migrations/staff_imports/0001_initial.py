from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from server.staff.imports.models import UploadState
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('staff', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='ImportUpload',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=20)),
                ('filename', fields.CharField(max_length=255)),
                ('size', fields.IntField()),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
                ('data', fields.BinaryField(null=True)),
                ('state', fields.CharEnumField(db_index=True, description='CHECKED: checked\nREJECTED: rejected\nAPPLYING: applying\nAPPLIED: applied', enum_type=UploadState, max_length=10)),
                ('encoding', fields.CharField(db_default='', max_length=40)),
                ('rows', fields.IntField(db_default=0)),
                ('counts', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('problems', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('problem_total', fields.IntField(db_default=0)),
                ('uploaded_by', fields.ForeignKeyField('staff.StaffUser', source_field='uploaded_by_id', db_constraint=True, to_field='id', related_name='import_uploads', on_delete=OnDelete.RESTRICT)),
                ('uploaded_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('apply_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('applied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('applied_by', fields.ForeignKeyField('staff.StaffUser', source_field='applied_by_id', null=True, db_constraint=True, to_field='id', related_name='import_applies', on_delete=OnDelete.RESTRICT)),
                ('applied_counts', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'staff_import_upload', 'app': 'staff_imports', 'pk_attr': 'id', 'table_description': 'One CSV file uploaded by staff, kept until it is applied or expires.'},
            bases=['Model'],
        ),
    ]
