from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('passkeys', '0001_initial')]

    initial = False

    operations = [
        ops.DeleteModel(name='Reauthentication'),
    ]
