"""home_news loses its (member_id, seen_at, at) index.

Home's query reads a member's few rows: the unique (member_id, kind, ref)
index finds them as well, and a statements import that writes 30,000 rows
kept one index fewer up to date (bench/import_bench.py, bench/RESULTS.md
2026-12-05).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_audit_staff_id_index'), ('pages', '0002_home_news')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='HomeNews',
            name=None,
            fields=['member_id', 'seen_at', 'at'],
        ),
    ]
