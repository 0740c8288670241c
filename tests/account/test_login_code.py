"""The authentication code at sign-in from a browser not seen before (A8)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.account.codes import CodeDead, check_code, issue_code
from server.account.models import AuthCode, CodePurpose, RememberedBrowser
from server.account.signin import forget_all_browsers, login_needs_code
from server.audit.models import AuditEvent
from server.auth.models import Session
from server.lib.clock import FrozenClock
from tests.factories import PASSWORD, make_account
from tests.helpers import cookie, login, page, post_form
from tests.smtp import deliver, mailed_code, mails_to

EMAIL = "hanako@example.jp"


async def password_step(client, next_path: str | None = None, *, signed_in: bool = False):
    form = {"email": EMAIL, "password": PASSWORD}
    if next_path:
        form["next"] = next_path
    # A signed-in browser is sent away from /login; it takes the token from home.
    return await post_form(client, "/login", form, token_from="/" if signed_in else None)


async def code_step(client, code: str, *, remember: bool = False, next_path: str = "/"):
    form = {"code": code, "next": next_path}
    if remember:
        form["remember"] = "1"
    return await post_form(client, "/login/code", form)


async def test_a_new_browser_must_type_the_mailed_code(client) -> None:
    await make_account(email=EMAIL)
    response = await password_step(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login/code"
    # No session yet: the password alone does not sign in.
    assert cookie(client, "mypage_session") is None
    assert await Session.all().count() == 0
    assert (await client.get("/")).status_code == 303
    status, html = await page(client, "/login/code")
    assert status == 200 and ">認証コード</label>" in html
    code = await mailed_code(client.app, EMAIL)
    [mail] = mails_to(EMAIL)
    assert mail.subject == "【群馬県学校生協】マイページログインの認証コード"
    signed_in = await code_step(client, code)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/"
    assert (await client.get("/")).status_code == 200
    assert await Session.all().count() == 1
    assert cookie(client, "mypage_login_code") is None
    assert await AuditEvent.filter(event="account:login_code:success").count() == 1
    codes = await AuthCode.all().values_list("code_hash", flat=True)
    assert code not in str(codes)  # stored keyed-hashed, never as typed


async def test_a_remembered_browser_skips_the_code(client) -> None:
    await make_account(email=EMAIL)
    await password_step(client)
    await code_step(client, await mailed_code(client.app, EMAIL), remember=True)
    assert cookie(client, "mypage_browser")
    await post_form(client, "/logout", {}, token_from="/")
    again = await password_step(client)
    assert again.status_code == 303 and again.headers["Location"] == "/"
    await deliver(client.app)
    assert len(mails_to(EMAIL)) == 1  # no second code
    # Another browser is still asked.
    other = client.app.test_client()
    assert (await password_step(other)).headers["Location"] == "/login/code"


async def test_without_remember_the_next_sign_in_asks_again(client) -> None:
    await make_account(email=EMAIL)
    await password_step(client)
    await code_step(client, await mailed_code(client.app, EMAIL), remember=False)
    assert cookie(client, "mypage_browser") is None
    await post_form(client, "/logout", {}, token_from="/")
    assert (await password_step(client)).headers["Location"] == "/login/code"


async def test_remembering_lasts_90_days_and_can_be_revoked(client, clock: FrozenClock) -> None:
    account = await make_account(email=EMAIL)
    await login(client, EMAIL)  # ticks "remember"
    row = await RememberedBrowser.get(account_id=account.id)
    assert row.expires_at == clock.now + timedelta(days=90)
    assert cookie(client, "mypage_browser") not in row.token_hash
    clock.advance(days=89)
    assert (await password_step(client)).headers["Location"] == "/"
    clock.advance(days=1)
    assert (await password_step(client)).headers["Location"] == "/login/code"
    await login(client, EMAIL)
    assert await forget_all_browsers(account.id) == 2
    assert (await password_step(client, signed_in=True)).headers["Location"] == "/login/code"


async def test_a_remembered_browser_notes_its_last_use_once_a_minute(
    client, clock: FrozenClock
) -> None:
    """Like a session's last-seen time: /settings shows it, a minute of slack is harmless."""
    account = await make_account(email=EMAIL)
    await login(client, EMAIL)
    first = (await RememberedBrowser.get(account_id=account.id)).last_used_at
    clock.advance(seconds=30)
    assert (await password_step(client, signed_in=True)).headers["Location"] == "/"
    assert (await RememberedBrowser.get(account_id=account.id)).last_used_at == first
    clock.advance(seconds=31)
    assert (await password_step(client, signed_in=True)).headers["Location"] == "/"
    assert (await RememberedBrowser.get(account_id=account.id)).last_used_at == clock.now


async def test_a_remembered_browser_is_remembered_for_its_member_only(client) -> None:
    await make_account(email=EMAIL)
    await make_account(email="taro@example.jp")
    await login(client, EMAIL)
    other = await post_form(
        client, "/login", {"email": "taro@example.jp", "password": PASSWORD}, token_from="/"
    )
    assert other.headers["Location"] == "/login/code"


async def test_five_wrong_codes_end_the_attempt(client) -> None:
    await make_account(email=EMAIL)
    await password_step(client)
    code = await mailed_code(client.app, EMAIL)
    wrong = "123456" if code != "123456" else "654321"
    for left in (4, 3, 2, 1):
        response = await code_step(client, wrong)
        assert response.status_code == 400
        assert f"あと{left}回" in await response.get_data(as_text=True)
    fifth = await code_step(client, wrong)
    assert fifth.status_code == 400
    assert "5回間違えた" in await fifth.get_data(as_text=True)
    assert "もう一度ログインする" in await fifth.get_data(as_text=True)
    # The right code is now useless; a new sign-in mails a new one.
    late = await post_form(client, "/login/code", {"code": code}, token_from="/login")
    assert late.status_code == 400
    assert await Session.all().count() == 0
    await password_step(client)
    assert (await code_step(client, await mailed_code(client.app, EMAIL))).status_code == 303


async def test_an_expired_code_is_refused(client, clock: FrozenClock) -> None:
    await make_account(email=EMAIL)
    await password_step(client)
    code = await mailed_code(client.app, EMAIL)
    clock.advance(minutes=10, seconds=1)
    response = await code_step(client, code)
    assert response.status_code == 400
    assert "有効期限（10分）" in await response.get_data(as_text=True)
    assert await Session.all().count() == 0


async def test_the_page_it_was_heading_for_is_kept(client) -> None:
    await make_account(email=EMAIL)
    response = await password_step(client, next_path="/statements/2026-10")
    assert response.headers["Location"] == "/login/code?next=%2Fstatements%2F2026-10"
    _, html = await page(client, response.headers["Location"])
    assert 'name="next" value="/statements/2026-10"' in html
    code = await mailed_code(client.app, EMAIL)
    done = await code_step(client, code, next_path="/statements/2026-10")
    assert done.headers["Location"] == "/statements/2026-10"


async def test_without_a_pending_sign_in_the_code_page_sends_to_login(client) -> None:
    response = await client.get("/login/code")
    assert response.status_code == 303 and response.headers["Location"] == "/login"


async def test_a_code_is_single_use(app, settings, clock: FrozenClock) -> None:
    account = await make_account(email=EMAIL)
    code = await issue_code(
        CodePurpose.LOGIN,
        "flow",
        member_id=account.member_id,
        account_id=account.id,
        email=EMAIL,
        now=clock(),
        secret_key=settings.secret_key,
    )
    await check_code(CodePurpose.LOGIN, "flow", code, clock(), settings.secret_key)
    with pytest.raises(CodeDead):
        await check_code(CodePurpose.LOGIN, "flow", code, clock(), settings.secret_key)


async def test_passkey_sign_ins_never_need_the_code(app, clock: FrozenClock) -> None:
    account = await make_account(email=EMAIL)
    assert await login_needs_code(account, None, clock())
    assert not await login_needs_code(account, None, clock(), method="passkey")


async def test_posts_need_csrf(client) -> None:
    for path in (
        "/login/code",
        "/register",
        "/register/email",
        "/register/code",
        "/register/password",
        "/password/forgot",
        "/password/reset/abc",
    ):
        response = await client.post(path, form={"x": "1"})
        assert response.status_code == 403, path
