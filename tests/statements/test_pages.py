"""Statement pages: list, month, visibility from the month after registration, empty state."""

from __future__ import annotations

from datetime import UTC, datetime

from server.audit.models import AuditEvent
from tests.factories import make_account, make_member
from tests.helpers import login, page
from tests.statements.factories import make_statement

# 2026-10-31 23:59 in Japan is still October there.
LAST_MINUTE_OF_OCTOBER_JST = datetime(2026, 10, 31, 14, 59, tzinfo=UTC)
FIRST_MINUTE_OF_NOVEMBER_JST = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)


async def signed_in(client, registered_at: datetime | None = None, **member_fields):
    member = await make_member(**member_fields)
    await make_account(member, email="hanako@example.jp", registered_at=registered_at)
    assert (await login(client, "hanako@example.jp")).status_code == 303
    return member


async def test_list_is_newest_first_with_totals(client) -> None:
    member = await signed_in(client)
    await make_statement(member, "2026-09", [1000, 2000])
    await make_statement(member, "2026-11", [12345, -1200])
    await make_statement(member, "2026-10", [500])
    status, html = await page(client, "/statements")
    assert status == 200
    assert "<h1>ご請求明細</h1>" in html
    positions = [html.index(f'href="/statements/2026-{m}"') for m in ("11", "10", "09")]
    assert positions == sorted(positions)
    assert "2026年11月分" in html
    assert "11,145円" in html and "3,000円" in html and "500円" in html
    assert "2026年<wbr>11月15日" in html  # a narrow line breaks after 年 only (issue 19)
    assert 'href="/statements.csv"' in html


async def test_month_page_shows_lines_formatted_for_japanese_readers(client) -> None:
    member = await signed_in(client)
    await make_statement(
        member,
        "2026-11",
        [12345, 2420, -1200],
        descriptions=["旅行積立金", "教育書「授業づくりの基礎」", "返品（ボールペン）"],
    )
    status, html = await page(client, "/statements/2026-11")
    assert status == 200
    assert "2026年11月分のご請求明細" in html
    assert "2026年<wbr>11月15日" in html  # billed on
    assert "2026年<wbr>11月1日" in html and "2026年<wbr>11月3日" in html  # used on
    assert "教育書「授業づくりの基礎」" in html
    assert "12,345円" in html and "−1,200円" in html
    assert "<strong>13,565円</strong>" in html
    assert 'href="/statements/2026-11.pdf"' in html
    assert await AuditEvent.filter(event="statements:statement:view", member_id=member.id).count()


async def test_empty_state_explains_why_and_when(client) -> None:
    await signed_in(client, registered_at=datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    status, html = await page(client, "/statements")
    assert status == 200
    assert "表示できるご請求明細はまだありません" in html
    assert "マイページにご登録いただいた月（2026年11月）の翌月のご請求分から表示されます" in html
    assert "2026年12月分のご請求が確定しだい" in html


async def test_registered_last_minute_of_october_jst_sees_november(client) -> None:
    member = await signed_in(client, registered_at=LAST_MINUTE_OF_OCTOBER_JST)
    await make_statement(member, "2026-10", [111])
    await make_statement(member, "2026-11", [222])
    _, html = await page(client, "/statements")
    assert "222円" in html and "111円" not in html
    assert (await client.get("/statements/2026-11")).status_code == 200
    assert (await client.get("/statements/2026-10")).status_code == 404
    assert (await client.get("/statements/2026-10.pdf")).status_code == 404


async def test_registered_first_minute_of_november_jst_waits_for_december(client) -> None:
    member = await signed_in(client, registered_at=FIRST_MINUTE_OF_NOVEMBER_JST)
    await make_statement(member, "2026-11", [222])
    await make_statement(member, "2026-12", [333])
    _, html = await page(client, "/statements")
    assert "333円" in html and "222円" not in html
    assert (await client.get("/statements/2026-11")).status_code == 404
    assert (await client.get("/statements/2026-12")).status_code == 200


async def test_malformed_months_are_not_found(client) -> None:
    member = await signed_in(client)
    await make_statement(member, "2026-11", [100])
    for path in (
        "/statements/2026-13",
        "/statements/2026-1",
        "/statements/abc",
        "/statements/x.pdf",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "ページが見つかりません" in await response.get_data(as_text=True)
