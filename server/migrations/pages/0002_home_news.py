"""Home's 新着 written when things happen: home_news replaces home_seen.

Home read four queries per view (the newest month's total, answered inquiries,
finished change requests, the seen marks); now it reads the member's rows of
home_news, written by the events themselves. This fills the table from what is
there (each member's newest month, answered inquiries, applied or returned
change requests), takes over the seen marks that still hide an item (opened at
or after it happened), then drops home_seen. Rows older than
MYPAGE_HOME_NEWS_DAYS go at the next hourly housekeeping.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

_COLUMNS = 'INSERT INTO home_news (member_id, kind, ref, text, detail, href, "at", seen_at)'
_STATEMENTS = _COLUMNS + """
SELECT l.member_id, 'statement', l.billing_month, '新しい明細があります',
       CAST(CAST(substr(l.billing_month, 1, 4) AS INTEGER) AS TEXT) || '年'
         || CAST(CAST(substr(l.billing_month, 6, 2) AS INTEGER) AS TEXT) || '月分　ご請求額 '
         || {yen} || '円',
       '/statements/' || l.billing_month, {at}, NULL
FROM statement_line AS l
WHERE l.billing_month = (
    SELECT MAX(n.billing_month) FROM statement_line AS n WHERE n.member_id = l.member_id
)
GROUP BY l.member_id, l.billing_month
"""
_INQUIRIES = _COLUMNS + """
SELECT member_id, 'inquiry', CAST(id AS TEXT), 'お問い合わせに回答があります',
       '受付番号 ' || receipt_no, '/inquiries/' || CAST(id AS TEXT), answered_at, NULL
FROM inquiry WHERE state = 'answered' AND answered_at IS NOT NULL
"""
_CHANGES = _COLUMNS + """
SELECT member_id, 'change', CAST(id AS TEXT),
       CASE state WHEN 'applied' THEN '登録内容の変更を反映しました'
            ELSE '登録内容の変更申請について、生協からのご連絡があります' END,
       '', '/profile/change', updated_at, NULL
FROM change_request WHERE state IN ('applied', 'returned')
"""
# A mark hid an item when the member opened it at or after the item happened.
_SEEN = """
UPDATE home_news SET seen_at = (
    SELECT s.seen_at FROM home_seen AS s
    WHERE s.member_id = home_news.member_id AND s.kind = home_news.kind
      AND s.ref = home_news.ref AND s.seen_at >= home_news."at"
)
WHERE EXISTS (
    SELECT 1 FROM home_seen AS s
    WHERE s.member_id = home_news.member_id AND s.kind = home_news.kind
      AND s.ref = home_news.ref AND s.seen_at >= home_news."at"
)
"""
_SQLITE = dict(
    yen="printf('%,d', SUM(l.amount_yen))",
    at="datetime(MAX(l.billed_on), '-9 hours') || '+00:00'",
)
_POSTGRES = dict(
    yen="to_char(SUM(l.amount_yen), 'FM999,999,999,999,990')",
    at="MAX(l.billed_on)::timestamp AT TIME ZONE 'Asia/Tokyo'",
)


async def fill(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    dialect = _POSTGRES if client.capabilities.dialect == "postgres" else _SQLITE
    for sql in (_STATEMENTS.format(**dialect), _INQUIRIES, _CHANGES, _SEEN):
        await client.execute_script(sql)

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_audit_staff_id_index'), ('pages', '0001_initial'), ('billing', '0001_initial'), ('requests', '0003_member_news_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HomeNews',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='home_news', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=12)),
                ('ref', fields.CharField(max_length=20)),
                ('text', fields.CharField(max_length=100)),
                ('detail', fields.CharField(default='', max_length=100)),
                ('href', fields.CharField(max_length=100)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'home_news', 'app': 'pages', 'unique_together': (('member', 'kind', 'ref'),), 'indexes': [Index(fields=['member_id', 'seen_at', 'at'])], 'pk_attr': 'id', 'table_description': "Something new for the member on home's 「新着」, and when they opened it."},
            bases=['Model'],
        ),
        ops.RunPython(fill, ops.RunPython.noop),
        ops.DeleteModel(name='HomeSeen'),
    ]
