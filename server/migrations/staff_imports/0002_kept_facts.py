from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('staff', '0001_initial'), ('staff_imports', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ImportUpload',
            name='kept',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
