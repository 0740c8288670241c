"""The access log screen (E6): filters, paging, the CSV export, and its own audit trail."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from quart import Quart

from server.audit.models import AuditEvent
from server.audit.service import Actor, record
from server.lib.clock import FrozenClock
from server.members.models import Member
from tests.conftest import START
from tests.factories import make_account
from tests.helpers import login, page
from tests.staff.helpers import signed_in_staff

LOG = "/staff/access-log"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def table(html: str) -> str:
    """The log table of a page (the filter form above it lists every event name)."""
    return html.split('<table class="table access-log">', 1)[1].split("</table>", 1)[0]


def q(**args: str) -> str:
    return f"{LOG}?{urlencode(args)}"


async def test_a_members_sign_in_is_found_by_member_number_typed_in_full_width(app: Quart) -> None:
    account = await make_account()
    member = await Member.get(id=account.member_id)
    assert (await login(app.test_client(), account.email)).status_code == 303
    other = await make_account()
    assert (await login(app.test_client(), other.email)).status_code == 303
    other_member = await Member.get(id=other.member_id)
    client, staff, _ = await signed_in_staff(app)

    status, html = await page(client, q(member_no=member.member_no.translate(FULL_WIDTH)))
    assert status == 200
    rows = table(html).split('class="log-row"')[1:]
    sign_ins = [row for row in rows if "auth:login:success" in row]
    assert len(sign_ins) == 1 and "ログイン成功" in sign_ins[0]
    assert all(member.member_no in row and member.name in row for row in rows)
    assert other_member.member_no not in html
    # Reading a member's log is itself recorded, on that member, by that staff member.
    [seen] = await AuditEvent.filter(event="staff:access_log:view")
    assert (seen.staff_id, seen.member_id, seen.actor) == (staff.id, member.id, "staff")
    assert seen.data == {"member_no": member.member_no}


async def test_event_type_and_japan_time_date_range(app: Quart, clock: FrozenClock) -> None:
    client, _, _ = await signed_in_staff(app)
    anonymous = Actor(kind="anonymous", ip="192.0.2.7", user_agent="Mozilla/5.0 Firefox/130.0")
    # 23:30 on 26 November and 00:10 on 27 November in Japan: both 26 November in UTC.
    clock.now = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)
    await record("auth:login:failure", anonymous, clock(), reason="late-evening")
    clock.now = datetime(2026, 11, 26, 15, 10, tzinfo=UTC)
    await record("auth:login:failure", anonymous, clock(), reason="just-after-midnight")
    clock.now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 00:00 on 28 November in Japan
    await record("auth:login:blocked", anonymous, clock(), reason="next-day")
    clock.now = START
    await record("cards:card:show", anonymous, clock(), reason="unlabelled")

    status, html = await page(client, q(event="auth:login:failure"))
    assert status == 200
    assert '<option value="auth:login:failure" selected>ログイン失敗' in html
    assert "late-evening" in html and "just-after-midnight" in html and "next-day" not in html
    status, html = await page(client, q(event="auth:"))  # every member sign-in event
    assert status == 200 and "next-day" in html and "staff:" not in table(html)
    assert '<option value="auth:" selected>組合員のログイン（すべて）' in html
    # An event without a Japanese label is offered, and shown, by its raw name.
    assert '<option value="cards:card:show">cards:card:show</option>' in html
    status, html = await page(client, q(event="cards:card:show"))
    assert status == 200 and "unlabelled" in html and "late-evening" not in html

    status, html = await page(client, q(**{"from": "2026-11-27", "to": "2026-11-27"}))
    assert status == 200
    assert "just-after-midnight" in html
    assert "late-evening" not in html and "next-day" not in html
    assert "2026-11-27 00:10:00" in html  # shown in Japan time
    status, html = await page(client, q(**{"from": "2026/11/28"}))
    assert status == 200 and "next-day" in html and "just-after-midnight" not in html
    # Reading the whole log without a member is not recorded (it would flood the log).
    assert await AuditEvent.filter(event="staff:access_log:view").count() == 0


async def test_filter_by_staff_member(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, name="職員 一郎")
    _, other, _ = await signed_in_staff(app, name="職員 次郎")
    status, html = await page(client, LOG)
    assert status == 200 and "職員 一郎" in html and "職員 次郎" in html
    assert f'<option value="{other.id}">職員 次郎</option>' in html

    status, html = await page(client, q(staff=str(other.id)))
    assert status == 200 and html.count('class="log-row"') >= 1
    rows = table(html)
    assert "職員 次郎" in rows and "職員 一郎" not in rows
    assert await AuditEvent.filter(staff_id=other.id).count() == rows.count('class="log-row"')


async def test_bad_filters_get_a_japanese_400(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    cases = [
        ({"from": "2026-13-01"}, "期間の開始日は 2026-11-28 の形で入力してください。"),
        ({"to": "あした"}, "期間の終了日は 2026-11-28 の形で入力してください。"),
        ({"from": "2026-11-28", "to": "2026-11-01"}, "期間の開始日が終了日より後になっています。"),
        ({"from": "0001-01-01"}, "2000年から2099年の日付にしてください。"),
        ({"member_no": "99999999"}, "組合員番号 99999999 の組合員は見つかりません。"),
        ({"member_no": "abc"}, "組合員番号は数字で入力してください。"),
        ({"staff": "12345"}, "選んだ職員が見つかりません。"),
        ({"event": "<script>"}, "イベント種別は一覧から選んでください。"),
    ]
    for args, message in cases:
        status, html = await page(client, q(**args))
        assert status == 400, args
        assert message in html, args
        assert 'class="filters"' in html  # the form is there to correct it
    response = await client.get(f"{LOG}/export.csv?from=2026-11-30&to=2026-11-01")
    assert response.status_code == 400
    assert "期間の開始日が終了日より後" in await response.get_data(as_text=True)


async def test_details_are_escaped_and_pages_go_back_and_forth(
    app: Quart, clock: FrozenClock
) -> None:
    client, _, _ = await signed_in_staff(app)
    await record("auth:login:failure", Actor(), clock(), reason="<script>alert(1)</script>")
    status, html = await page(client, q(event="auth:login:failure"))
    assert "<script>alert(1)" not in html
    assert "reason=&lt;script&gt;alert(1)&lt;/script&gt;" in html

    start = clock()
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                at=start + timedelta(seconds=n),
                event="imports:file:checked",
                actor="system",
                data={"n": n},
            )
            for n in range(105)
        ]
    )
    status, html = await page(client, q(event="imports:file:checked"))
    assert status == 200 and html.count('class="log-row"') == 100
    assert "n=104" in html and "n=5<" in html and "n=4<" not in html
    assert "新しい記録" not in html
    older = html.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    status, html = await page(client, older)
    assert status == 200 and html.count('class="log-row"') == 5
    assert "n=4<" in html and "n=0<" in html and "古い記録" not in html
    newer = html.split('rel="prev" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    status, html = await page(client, newer)
    assert status == 200 and html.count('class="log-row"') == 100
    assert "n=104" in html and "n=5<" in html and "新しい記録" not in html


async def test_csv_export_has_bom_japanese_header_rows_and_disarmed_cells(
    app: Quart, clock: FrozenClock
) -> None:
    account = await make_account()
    member = await Member.get(id=account.member_id)
    hostile = Actor(
        kind="member",
        member_id=member.id,
        account_id=account.id,
        ip="198.51.100.4",
        user_agent='=HYPERLINK("http://evil.example","x")',
    )
    await record("auth:login:success", hostile, clock(), method="password")
    client, staff, _ = await signed_in_staff(app)

    response = await client.get(f"{LOG}/export.csv?member_no={member.member_no}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = await response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["日時（日本時間）", "イベント", "イベント名"]
    assert "ユーザーエージェント" in rows[0]
    # The export is recorded (on the member) before the rows are read, so it heads its own file.
    [export_row, row] = rows[1:]
    assert export_row[1:4] == ["アクセスログのCSV出力", "staff:access_log:export", member.member_no]
    assert row[0] == "2026-11-28 14:00:00"
    assert row[1:5] == ["ログイン成功", "auth:login:success", member.member_no, member.name]
    assert row[6] == "198.51.100.4"
    assert row[8] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[9] == "method=password"
    [exported] = await AuditEvent.filter(event="staff:access_log:export")
    assert (exported.staff_id, exported.member_id) == (staff.id, member.id)

    # Without a filter: everything, newest first, the export itself included.
    response = await client.get(f"{LOG}/export.csv")
    rows = list(csv.reader(io.StringIO((await response.get_data()).decode("utf-8-sig"))))
    assert rows[1][2] == "staff:access_log:export"
    # The export is recorded before the rows are read, so it is in its own file.
    assert len(rows) - 1 == await AuditEvent.all().count()
