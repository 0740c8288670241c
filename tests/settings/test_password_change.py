"""「パスワードを変更」 in /settings: current password, new one twice, other sign-ins end."""

from __future__ import annotations

from quart import Quart

from server.account.models import RememberedBrowser
from server.audit.events import HISTORY_LABELS, STAFF_LABELS
from server.audit.models import AuditEvent
from server.auth.models import Account, Session
from tests.factories import PASSWORD, make_account
from tests.helpers import cookie, login, page, post_form
from tests.smtp import deliver, mails_to

NEW = "kumo-no-ue-de-odoru-2027"
PATH = "/settings/password"


def _form(current: str = PASSWORD, new: str = NEW, confirm: str | None = None, **extra: str):
    return {
        "current_password": current,
        "password": new,
        "password_confirm": new if confirm is None else confirm,
        **extra,
    }


async def _two_devices(app: Quart):
    account = await make_account(email="hanako@example.jp")
    other = app.test_client()
    assert (await login(other, account.email)).status_code == 303  # another phone, remembered
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303  # this browser, remembered
    return account, client, other


async def test_settings_links_to_the_password_page(app: Quart) -> None:
    """ASVS 6.2.2: /settings offers 「パスワードを変更」 to a signed-in member."""
    account = await make_account()
    client = app.test_client()
    await login(client, account.email)
    _, html = await page(client, "/settings")
    assert f'<a href="{PATH}">パスワードを変更</a>' in html
    status, html = await page(client, PATH)
    assert status == 200
    assert 'name="current_password"' in html and 'name="password_confirm"' in html
    assert "この端末のログインも終了する" in html and "checked" not in html


async def test_changing_the_password_ends_other_sign_ins_and_mails(app: Quart) -> None:
    """ASVS 6.2.2: the hash changes, other sessions and remembered browsers end, mail goes."""
    account, client, other = await _two_devices(app)
    old_hash = account.password_hash
    old_cookie = cookie(client, "mypage_session")
    await deliver(app)
    before = len(mails_to(account.email))
    response = await post_form(client, PATH, _form())
    assert response.status_code == 303
    assert response.headers["Location"] == "/settings?done=password-changed#password"
    fresh = await Account.get(id=account.id)
    assert fresh.password_hash != old_hash
    # This browser stays signed in (with a new token) and remembered; the other is out.
    assert cookie(client, "mypage_session") != old_cookie
    status, html = await page(client, "/settings?done=password-changed")
    assert status == 200 and "パスワードを変更しました" in html
    response = await other.get("/settings")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert await Session.filter(account_id=account.id).count() == 1
    assert await RememberedBrowser.filter(account_id=account.id).count() == 1
    await deliver(app)
    [mail] = mails_to(account.email)[before:]
    assert "パスワード変更のお知らせ" in mail.subject
    assert "変更の操作をした端末のほかは" in mail.body and NEW not in mail.body
    event = await AuditEvent.get(event="account:password:change")
    assert event.data["sessions_ended"] == 1 and event.data["this_browser_kept"] is True
    # The old password no longer signs in; the new one does (the other phone needs a code).
    wrong = await post_form(other, "/login", {"email": account.email, "password": PASSWORD})
    assert wrong.status_code == 400
    right = await post_form(other, "/login", {"email": account.email, "password": NEW})
    assert right.headers["Location"].startswith("/login/code")


async def test_the_member_can_end_this_browser_too(app: Quart) -> None:
    """ASVS 6.2.2: ticking 「この端末のログインも終了する」 signs this browser out as well."""
    account, client, _ = await _two_devices(app)
    response = await post_form(client, PATH, _form(end_here="1"))
    assert response.status_code == 303 and response.headers["Location"] == "/password/reset/done"
    assert await Session.filter(account_id=account.id).count() == 0
    assert await RememberedBrowser.filter(account_id=account.id).count() == 0
    response = await client.get("/settings")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    await deliver(app)
    assert "すべての端末でログインが終了しています" in mails_to(account.email)[-1].body


async def test_a_wrong_current_password_changes_nothing(app: Quart) -> None:
    """ASVS 6.2.3: the current password is required; a wrong one is refused and audited."""
    account, client, other = await _two_devices(app)
    response = await post_form(client, PATH, _form(current="wrong-password", end_here="1"))
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert "現在のパスワードが正しくありません" in html
    # The form is refilled (the choice), never the passwords.
    assert 'name="end_here" value="1" checked' in html
    assert NEW not in html and "wrong-password" not in html
    assert (await Account.get(id=account.id)).password_hash == account.password_hash
    assert (await other.get("/settings")).status_code == 200
    assert await AuditEvent.filter(event="account:password:change_failure").count() == 1
    response = await post_form(client, PATH, _form(current=""))
    assert response.status_code == 400
    assert "現在のパスワードを入力してください" in await response.get_data(as_text=True)


async def test_the_new_password_follows_the_registration_rules(app: Quart) -> None:
    """ASVS 6.2.2: the same strength rules as registration, each with a Japanese message."""
    account = await make_account(email="hanako@example.jp")
    client = app.test_client()
    await login(client, account.email)
    cases = [
        (_form(new="short1"), "8文字以上"),
        (_form(confirm="something-else-2027"), "一致しません"),
        (_form(new="password123"), "よく使われている"),
        (_form(new="hanako-no-pasuwado"), "メールアドレス"),
        (_form(new=PASSWORD), "現在のパスワードと同じ"),
    ]
    for form, message in cases:
        response = await post_form(client, PATH, form)
        assert response.status_code == 400, message
        assert message in await response.get_data(as_text=True)
    assert (await Account.get(id=account.id)).password_hash == account.password_hash


async def test_full_width_passwords_work_as_at_sign_in(app: Quart) -> None:
    """ASVS 6.2.8: the current password may be typed full width; the new one is NFKC'd."""
    account = await make_account(email="hanako@example.jp")
    client = app.test_client()
    await login(client, account.email)
    full_current = "ｃｏｒｒｅｃｔ－ｈｏｒｓｅ－２０２６"
    full_new = "ｋｕｍｏ－ｎｏ－ｕｅ－ｄｅ－ｏｄｏｒｕ－２０２７"
    response = await post_form(client, PATH, _form(current=full_current, new=full_new))
    assert response.status_code == 303
    fresh = app.test_client()
    response = await post_form(fresh, "/login", {"email": account.email, "password": NEW})
    assert response.status_code == 303


async def test_failures_are_rate_limited(app: Quart) -> None:
    """ASVS 6.2.3: wrong current passwords spend a per-member budget, then 429."""
    account = await make_account(email="hanako@example.jp")
    client = app.test_client()
    await login(client, account.email)
    statuses = [
        (await post_form(client, PATH, _form(current=f"wrong-{n}"))).status_code for n in range(6)
    ]
    assert statuses == [400] * 5 + [429]


async def test_the_change_events_have_labels() -> None:
    """ASVS 16.3.1: the member's timeline and the staff log name the new events."""
    for event in ("account:password:change", "account:password:change_failure"):
        assert event in HISTORY_LABELS and event in STAFF_LABELS
