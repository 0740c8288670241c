"""「最終ログイン」 on the staff member page counts every sign-in, registration's included."""

from __future__ import annotations

from datetime import timedelta

from quart import Quart

from server.auth.models import Account
from server.lib.clock import FrozenClock
from tests.account.flows import issue, register
from tests.factories import make_member
from tests.helpers import page
from tests.staff.helpers import signed_in_staff


async def test_registration_counts_as_the_last_sign_in(app: Quart, clock: FrozenClock) -> None:
    member = await make_member(name="山田 花子", member_no="00012345")
    initial = await issue(member, clock())
    clock.advance(minutes=5)
    member_browser = app.test_client()
    response = await register(member_browser, member, initial, "hanako@example.jp")
    assert response.status_code == 303 and response.headers["Location"] == "/register/done"
    account = await Account.get(member_id=member.id)
    assert account.last_login_at == clock()
    staff, _, _ = await signed_in_staff(app)
    status, html = await page(staff, f"/staff/members/{member.id}")
    assert status == 200
    assert "まだログインしていません" not in html
    local = clock() + timedelta(hours=9)
    shown = f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"
    assert f"<dt>最終ログイン</dt><dd>{shown}</dd>" in html
