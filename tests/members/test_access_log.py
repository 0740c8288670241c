"""Data views (A10): /profile, /capital and the statements list are recorded like a
statement's view, and shown to the member in /settings and to staff in the access log."""

from __future__ import annotations

from quart import Quart

from server.audit.models import AuditEvent
from server.members.models import Member
from tests.factories import make_account
from tests.helpers import login, page
from tests.staff.helpers import signed_in_staff
from tests.statements.factories import make_statement

VIEWS = {
    "/profile": "members:profile:view",
    "/capital": "capital:capital:view",
    "/statements": "statements:list:view",
}


def section(html: str, section_id: str) -> str:
    """The rows of one section's table (its explanation names every kind)."""
    part = html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]
    return part.split("<tbody>", 1)[1] if "<tbody>" in part else ""


async def test_each_data_page_view_is_recorded_for_that_member(app: Quart) -> None:
    account = await make_account()
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303
    for path, event in VIEWS.items():
        assert (await page(client, path))[0] == 200
        [seen] = await AuditEvent.filter(event=event)
        assert (seen.member_id, seen.account_id, seen.actor) == (
            account.member_id,  # type: ignore[attr-defined]
            account.id,
            "member",
        )


async def test_the_member_sees_their_own_views_in_settings_and_no_one_elses(
    app: Quart,
) -> None:
    mine = await make_account()
    me = app.test_client()
    assert (await login(me, mine.email)).status_code == 303
    member = await Member.get(id=mine.member_id)  # type: ignore[attr-defined]
    await make_statement(member, "2026-10", [1000])
    for path in ("/profile", "/capital", "/statements", "/statements/2026-10"):
        assert (await page(me, path))[0] == 200

    theirs = await make_account()
    them = app.test_client()
    assert (await login(them, theirs.email)).status_code == 303
    assert (await page(them, "/capital"))[0] == 200
    _, html = await page(them, "/settings")
    views = section(html, "data-views")
    assert "出資金の表示" in views
    assert "登録情報" not in views and "ご請求明細" not in views

    _, html = await page(me, "/settings")
    views = section(html, "data-views")
    labels = [
        "ご請求明細の表示（2026年10月分）",
        "ご請求明細の一覧の表示",
        "出資金の表示",
        "登録情報（住所・電話番号・生年月日）の表示",
    ]
    positions = [views.index(label) for label in labels]
    assert positions == sorted(positions)  # newest first
    assert views.count("出資金の表示") == 1


async def test_staff_read_the_views_in_the_access_log_in_japanese(app: Quart) -> None:
    account = await make_account()
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303
    for path in VIEWS:
        await page(client, path)
    staff, _, _ = await signed_in_staff(app)
    status, html = await page(staff, f"/staff/access-log?member_no={member.member_no}")
    assert status == 200
    rows = html.split('<table class="table access-log">', 1)[1]
    for label in ("登録情報（住所・電話・生年月日）の閲覧", "出資金の閲覧", "ご請求明細一覧の閲覧"):
        assert label in rows
    status, html = await page(staff, "/staff/access-log?event=members:")
    assert status == 200 and "登録情報（すべて）" in html
