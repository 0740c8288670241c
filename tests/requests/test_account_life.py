"""Re-authentication, the email change, stopping the service and the withdrawal notice."""

from __future__ import annotations

import re
from datetime import date

from server.audit.models import AuditEvent
from server.auth.models import Account, AccountState, Session
from server.members.models import MemberStatus
from server.requests.models import ServiceStop
from server.requests.stop import STOP_HOOKS
from server.staff.paper.service import paper_statement_members
from tests.factories import PASSWORD, make_account, make_member
from tests.helpers import login, page, post_form


async def _signed_in(client, email: str = "hanako@example.jp", **member_fields):
    member = await make_member(name="山田 花子", **member_fields)
    account = await make_account(member, email=email)
    await login(client, email)
    return account


async def _reauth(client, target: str, password: str = PASSWORD):
    return await post_form(
        client, "/reauth", {"password": password, "next": target}, token_from="/reauth"
    )


# Re-authentication


async def test_sensitive_pages_ask_for_the_password_again(client, clock) -> None:
    await _signed_in(client)
    for path in ("/service/stop", "/profile/change/email"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == "/reauth?next=" + path.replace("/", "%2F")
    wrong = await _reauth(client, "/service/stop", "wrong-password")
    assert wrong.status_code == 400
    assert "パスワードが正しくありません" in await wrong.get_data(as_text=True)
    assert (await client.get("/service/stop")).status_code == 303
    right = await _reauth(client, "/service/stop")
    assert right.status_code == 303 and right.headers["Location"] == "/service/stop"
    status, html = await page(client, "/service/stop")
    assert status == 200 and "サービス停止の手続き" in html
    # Five minutes later the window has closed.
    clock.advance(minutes=5, seconds=1)
    assert (await client.get("/service/stop")).status_code == 303
    assert await AuditEvent.filter(event="requests:reauth:failure").count() == 1


async def test_reauth_is_per_session(app, client) -> None:
    await _signed_in(client)
    await _reauth(client, "/service/stop")
    other = app.test_client()
    await login(other, "hanako@example.jp")
    assert (await other.get("/service/stop")).status_code == 303


async def test_posting_without_recent_auth_changes_nothing(client) -> None:
    account = await _signed_in(client)
    response = await post_form(client, "/service/stop", {"confirm": "yes"}, token_from="/")
    assert response.status_code == 303 and response.headers["Location"].startswith("/reauth")
    await account.refresh_from_db()
    assert account.state == AccountState.ACTIVE


# Email change


async def test_email_change_with_the_mailed_code(client, mails) -> None:
    account = await _signed_in(client)
    await mails.clear()  # the sign-in code is not what this test reads
    await _reauth(client, "/profile/change/email")
    response = await post_form(client, "/profile/change/email", {"email": "ＨＡＮＡ＠ｎｅｗ．ｊｐ"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile/change/email/verify"
    (code_mail,) = await mails.to("hana@new.jp")
    code = re.search(r"認証コード：(\d{6})", code_mail.body)
    assert code is not None
    _, html = await page(client, "/profile/change/email/verify")
    assert '<label for="f-code">認証コード</label>' in html
    wrong = "000000" if code.group(1) != "000000" else "111111"
    bad = await post_form(client, "/profile/change/email/verify", {"code": wrong})
    assert bad.status_code == 400
    assert "認証コードが正しくありません" in await bad.get_data(as_text=True)
    await account.refresh_from_db()
    assert account.email == "hanako@example.jp"
    ok = await post_form(client, "/profile/change/email/verify", {"code": code.group(1)})
    assert ok.status_code == 303
    await account.refresh_from_db()
    assert account.email == "hana@new.jp"
    (notice,) = await mails.to("hanako@example.jp")
    assert "hana@new.jp" in notice.body and "変更されました" in notice.body
    # The code is used up.
    again = await post_form(client, "/profile/change/email/verify", {"code": code.group(1)})
    assert again.status_code == 400


async def test_email_change_refuses_bad_addresses_and_expired_codes(client, clock, mails):
    # (An address in use is answered like any other: tests/requests/test_email_in_use.py.)
    account = await _signed_in(client)
    await _reauth(client, "/profile/change/email")
    bad = await post_form(client, "/profile/change/email", {"email": "not-an-address"})
    assert bad.status_code == 400
    await post_form(client, "/profile/change/email", {"email": "hana@new.jp"})
    code = re.search(r"認証コード：(\d{6})", (await mails.to("hana@new.jp"))[0].body)
    assert code is not None
    clock.advance(minutes=10, seconds=1)
    late = await post_form(client, "/profile/change/email/verify", {"code": code.group(1)})
    assert late.status_code == 400
    await account.refresh_from_db()
    assert account.email == "hanako@example.jp"


async def test_five_wrong_codes_kill_the_change(client, mails) -> None:
    account = await _signed_in(client)
    await _reauth(client, "/profile/change/email")
    await post_form(client, "/profile/change/email", {"email": "hana@new.jp"})
    code = re.search(r"認証コード：(\d{6})", (await mails.to("hana@new.jp"))[0].body)
    assert code is not None
    wrong = "000000" if code.group(1) != "000000" else "111111"
    for _ in range(5):
        response = await post_form(client, "/profile/change/email/verify", {"code": wrong})
        assert response.status_code == 400
    response = await post_form(client, "/profile/change/email/verify", {"code": code.group(1)})
    assert "やり直してください" in await response.get_data(as_text=True)
    await account.refresh_from_db()
    assert account.email == "hanako@example.jp"


# Stopping the service


async def test_stop_page_explains_the_fee_with_tax_and_the_way_back(client) -> None:
    await _signed_in(client)
    await _reauth(client, "/service/stop")
    _, html = await page(client, "/service/stop")
    assert "100円（税抜。税込 110円）" in html
    assert "新しく発行する初期パスワード" in html and "0120-39-5318" in html
    assert 'name="confirm" type="checkbox"' in html


async def test_stopping_needs_the_confirmation(client) -> None:
    account = await _signed_in(client)
    await _reauth(client, "/service/stop")
    response = await post_form(client, "/service/stop", {})
    assert response.status_code == 400
    assert "確認欄にチェック" in await response.get_data(as_text=True)
    await account.refresh_from_db()
    assert account.state == AccountState.ACTIVE


async def test_stopping_ends_every_session_and_lists_the_member_for_paper(app, client, mails):
    account = await _signed_in(client)
    second = app.test_client()
    await login(second, "hanako@example.jp")
    assert await Session.filter(account_id=account.id).count() == 2
    from server.passkeys.models import Passkey

    await Passkey.create(
        account=account,
        credential_id="cred-1",
        public_key=b"k",
        aaguid="",
        name="iPhone",
        backup_eligible=True,
        backed_up=True,
        created_at=account.registered_at,
    )
    from server.push.models import PushSubscription

    await PushSubscription.create(
        member_id=account.member_id,
        endpoint="https://fcm.googleapis.com/fcm/send/x",
        p256dh="k",
        auth="a",
        created_at=account.registered_at,
        updated_at=account.registered_at,
    )
    await mails.clear()  # the sign-in codes are not what this test reads
    removed: list[int] = []

    async def remove_passkeys(account_id: int) -> None:
        removed.append(account_id)

    STOP_HOOKS.append(remove_passkeys)
    try:
        await _reauth(client, "/service/stop")
        response = await post_form(client, "/service/stop", {"confirm": "yes"})
    finally:
        STOP_HOOKS.remove(remove_passkeys)
    assert response.status_code == 303
    assert response.headers["Location"] == "/service/stopped"
    assert "Clear-Site-Data" in response.headers
    assert removed == [account.id]
    account = await Account.get(id=account.id)
    assert account.state == AccountState.STOPPED
    assert not await Passkey.filter(account_id=account.id).exists()
    assert not await PushSubscription.filter(member_id=account.member_id).exists()
    assert await Session.filter(account_id=account.id).count() == 0
    # Both browsers are signed out.
    for browser in (client, second):
        response = await browser.get("/")
        assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    _, html = await page(client, "/service/stopped")
    assert "新しい初期パスワード" in html and "0120-39-5318" in html
    (mail,) = await mails.to("hanako@example.jp")
    assert "税込 110円" in mail.body
    listed = await paper_statement_members()
    assert [m.name for m in listed] == ["山田 花子"]
    assert await ServiceStop.filter(account_id=account.id).count() == 1
    # Signing in with the old password no longer works; the owner is told how to come back.
    response = await login(client, "hanako@example.jp")
    assert response.status_code == 403
    html = await response.get_data(as_text=True)
    assert "マイページのサービスを停止されているため、ご利用いただけません。" in html
    assert "新しい初期パスワードでの利用登録が必要です。" in html and "0120-39-5318" in html
    assert (await login(client, "hanako@example.jp", "wrong-password")).status_code == 400


# Withdrawal notice


async def test_withdrawing_members_see_the_notice_on_every_page(app, client) -> None:
    await _signed_in(client, status=MemberStatus.WITHDRAWING, capital_refund_on=date(2027, 7, 31))
    for path in ("/", "/inquiries", "/profile/change", "/help"):
        _, html = await page(client, path)
        assert "脱退のお手続き中です" in html, path
        assert "2027年7月31日" in html, path
        assert 'href="/statements.csv"' in html, path
    other = app.test_client()
    await _signed_in(other, email="taro@example.jp")
    _, html = await page(other, "/")
    assert "脱退のお手続き中です" not in html


async def test_after_stopping_only_a_newer_initial_password_registers_again(
    app, client, clock
) -> None:
    from tests.account.flows import identify, issue, register

    account = await _signed_in(client)
    member = await account.member
    old_initial = await issue(member, clock())
    clock.advance(minutes=1)
    await _reauth(client, "/service/stop")
    assert (await post_form(client, "/service/stop", {"confirm": "yes"})).status_code == 303
    assert [m.member_no for m in await paper_statement_members()] == [member.member_no]
    # The letter from before the stop no longer opens My Page.
    comeback = app.test_client()
    refused = await identify(comeback, member, old_initial)
    assert refused.status_code == 400
    clock.advance(minutes=1)
    new_initial = await issue(member, clock())
    done = await register(comeback, member, new_initial, "hanako@example.jp")
    assert done.status_code == 303
    account = await Account.get(id=account.id)
    assert account.state == AccountState.ACTIVE
    assert await paper_statement_members() == []


async def test_a_withdrawn_member_leaves_the_paper_statement_list(app, client) -> None:
    """No statements, no postcards and no fee after the withdrawal (issue 19 #14)."""
    account = await _signed_in(client)
    member = await account.member
    await _reauth(client, "/service/stop")
    assert (await post_form(client, "/service/stop", {"confirm": "yes"})).status_code == 303
    assert [m.member_no for m in await paper_statement_members()] == [member.member_no]
    member.status = MemberStatus.WITHDRAWN
    await member.save(update_fields=["status"])
    assert await paper_statement_members() == []
