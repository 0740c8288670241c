"""Forgotten address and password over HTTP, with the mail read from a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from server.account.models import PasswordReset
from server.audit.events import AccountEvent
from server.audit.models import AuditEvent
from server.auth.models import Session
from server.lib.clock import FrozenClock
from server.outbox.models import OutboxMessage
from tests.factories import make_account
from tests.helpers import login, page, post_form
from tests.smtp import deliver, mails_to, reset_link

NEW = "haruna-lake-in-winter-26"
SENT = "入力されたメールアドレスがマイページに登録されている場合は"


async def ask_reset(client, email: str):
    return await post_form(client, "/password/forgot", {"email": email})


async def set_password(
    client, link: str, password: str = NEW, confirm: str | None = None, token_from: str = ""
):
    form = {"password": password, "password_confirm": password if confirm is None else confirm}
    return await post_form(client, link, form, token_from=token_from or None)


async def test_email_forgotten_page_gives_the_free_dial(client) -> None:
    status, html = await page(client, "/help/email-forgotten")
    assert status == 200
    assert "お電話でご本人であることを確認" in html
    assert 'href="tel:0120-39-5318"' in html
    status, login_html = await page(client, "/login")
    for link in ('href="/password/forgot"', 'href="/help/email-forgotten"', 'href="/register"'):
        assert link in login_html


async def test_the_whole_reset(client, clock: FrozenClock) -> None:
    account = await make_account(email="hanako@example.jp")
    elsewhere = client.app.test_client()
    await login(elsewhere, "hanako@example.jp")
    status, html = await page(client, "/password/forgot")
    assert ">メールアドレス</label>" in html and ">パスワード再設定</button>" in html
    response = await ask_reset(client, "ＨＡＮＡＫＯ＠example.jp")
    assert response.status_code == 303
    assert response.headers["Location"] == "/password/forgot/sent"
    status, html = await page(client, "/password/forgot/sent")
    assert SENT in html
    await deliver(client.app)
    [mail] = mails_to("hanako@example.jp")[-1:]
    assert mail.subject == "【群馬県学校生協】パスワード再設定のご案内"
    link = reset_link(mail)
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits, base64url
    stored = await PasswordReset.get(account_id=account.id)
    assert token not in stored.token_hash  # only the hash is kept
    status, html = await page(client, link)
    assert status == 200 and ">パスワード</label>" in html
    response = await set_password(client, link)
    assert response.status_code == 303
    assert response.headers["Location"] == "/password/reset/done"
    _, done = await page(client, "/password/reset/done")
    assert "新しいパスワードでログインしてください" in done
    # Every session ended, and the member is told by mail.
    assert await Session.filter(account_id=account.id).count() == 0
    assert (await elsewhere.get("/")).status_code == 303
    await deliver(client.app)
    changed = mails_to("hanako@example.jp")[-1]
    assert changed.subject == "【群馬県学校生協】パスワード変更のお知らせ"
    assert NEW not in changed.body
    assert (await login(elsewhere, "hanako@example.jp")).status_code == 400  # old password
    assert (await login(elsewhere, "hanako@example.jp", NEW)).status_code == 303


async def test_a_used_link_is_dead(client) -> None:
    await make_account(email="hanako@example.jp")
    await ask_reset(client, "hanako@example.jp")
    await deliver(client.app)
    link = reset_link(mails_to("hanako@example.jp")[-1])
    assert (await set_password(client, link)).status_code == 303
    status, html = await page(client, link)
    assert status == 400 and "このリンクは無効か" in html
    # Posting it again (with a valid CSRF token from another page) changes nothing.
    second = await set_password(client, link, "another-password-2026", token_from="/login")
    assert second.status_code == 400
    assert "このリンクは無効か" in await second.get_data(as_text=True)
    assert (await login(client.app.test_client(), "hanako@example.jp", NEW)).status_code == 303


async def test_opening_the_link_does_not_use_it(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    await ask_reset(client, "hanako@example.jp")
    await deliver(client.app)
    link = reset_link(mails_to("hanako@example.jp")[-1])
    scanner = client.app.test_client()
    for _ in range(3):  # a mail scanner, a preview, the member
        assert (await scanner.get(link)).status_code == 200
    assert (await PasswordReset.get()).used_at is None
    clock.advance(minutes=29)
    assert (await set_password(client, link)).status_code == 303


async def test_a_link_lives_thirty_minutes(client, clock: FrozenClock) -> None:
    await make_account(email="hanako@example.jp")
    await ask_reset(client, "hanako@example.jp")
    await deliver(client.app)
    link = reset_link(mails_to("hanako@example.jp")[-1])
    clock.advance(minutes=30)
    status, html = await page(client, link)
    assert status == 400 and "有効期限（30分）" in html


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, mailbox) -> None:
    await make_account(email="hanako@example.jp")
    known = await ask_reset(client, "hanako@example.jp")
    unknown = await ask_reset(client, "nobody@example.jp")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert await OutboxMessage.all().count() == 1
    await deliver(client.app)
    assert mails_to("nobody@example.jp") == []
    assert [m.rcpt_to for m in mailbox.messages] == [("hanako@example.jp",)]


async def test_a_reset_lifts_a_block_and_checks_the_rules(client, clock: FrozenClock) -> None:
    account = await make_account(email="hanako@example.jp")
    account.blocked_until = clock.now + timedelta(minutes=15)
    account.failed_count = 3
    await account.save()
    await ask_reset(client, "hanako@example.jp")
    await deliver(client.app)
    link = reset_link(mails_to("hanako@example.jp")[-1])
    weak = await set_password(client, link, "password123")
    assert weak.status_code == 400
    assert "よく使われている" in await weak.get_data(as_text=True)
    assert (await PasswordReset.get()).used_at is None  # a refused password keeps the link
    assert (await set_password(client, link)).status_code == 303
    await account.refresh_from_db()
    assert account.blocked_until is None and account.failed_count == 0
    assert (await login(client, "hanako@example.jp", NEW)).status_code == 303


async def test_an_empty_request_is_told(client) -> None:
    response = await ask_reset(client, "  ")
    assert response.status_code == 400
    assert "メールアドレスを入力してください" in await response.get_data(as_text=True)


async def test_reset_mails_to_one_member_are_capped_per_hour(client, clock: FrozenClock) -> None:
    account = await make_account(email="hanako@example.jp")
    others = [client.app.test_client() for _ in range(4)]  # as if from four places
    for other in others:
        response = await ask_reset(other, "hanako@example.jp")
        # The answer never changes, so it tells nothing about the address.
        assert response.headers["Location"] == "/password/forgot/sent"
    await deliver(client.app)
    assert len(mails_to("hanako@example.jp")) == 3
    assert await PasswordReset.filter(account_id=account.id).count() == 3
    events = await AuditEvent.filter(event=AccountEvent.RESET_REQUEST).order_by("id")
    assert [e.data.get("mailed", True) for e in events] == [True, True, True, False]
    _, html = await page(client, "/password/forgot/sent")
    assert "1時間に3通まで" in html
    clock.advance(minutes=61)
    await ask_reset(others[0], "hanako@example.jp")
    await deliver(client.app)
    assert len(mails_to("hanako@example.jp")) == 4
