"""/settings security timeline: the member's own sign-ins and security events, 90 days."""

from __future__ import annotations

from datetime import timedelta

from quart import Quart

from server.audit.service import Actor, record
from server.lib.clock import FrozenClock
from tests.account.test_new_device import passkey_sign_in
from tests.factories import make_account
from tests.helpers import login, page, post_form
from tests.passkeys.helpers import member_with_passkey
from tests.passkeys.softauthn import SoftAuthenticator


def timeline_rows(html: str) -> list[str]:
    """The timeline's table rows, top to bottom (no script needed to read them)."""
    part = html.split('id="security-history"', 1)[1].split("</section>", 1)[0]
    part = part.replace("<wbr>", "")  # the line-break hint in dates (issue 19)
    if "<tbody>" not in part:
        return []
    return part.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]


async def test_sign_ins_show_method_device_and_new_device_newest_first(
    app: Quart, clock: FrozenClock
) -> None:
    account = await make_account(email="hanako@example.jp")
    soft = SoftAuthenticator()
    laptop = app.test_client()
    # Password and mailed code, then a passkey added, then signed out.
    await member_with_passkey(laptop, account.email, soft)
    clock.advance(hours=1)
    phone = app.test_client()
    status, _ = await passkey_sign_in(phone, soft)
    assert status == 200
    await post_form(phone, "/logout", {}, token_from="/")
    clock.advance(minutes=5)
    status, _ = await passkey_sign_in(phone, soft)  # the same phone: known now
    assert status == 200
    _, html = await page(phone, "/settings")
    rows = timeline_rows(html)
    sign_ins = [row for row in rows if "ログイン（パスキー）" in row]
    assert len(sign_ins) == 2
    newest, first = sign_ins
    assert "2026年11月28日 15:05" in newest and "新しい端末" not in newest
    assert "2026年11月28日 15:00" in first and "Safari（iPhone）" in first
    assert "新しい端末（お知らせメールを送信しました）" in first
    # The device event is folded into its sign-in, not listed again.
    assert not any("新しい端末からのログイン" in row for row in rows)
    # ASVS 16.3.1: the sign-in is the session's start, after the code; the
    # password alone is its own row.
    labels = [
        "パスキーの追加",
        "ログイン（パスワード）",
        "認証コードの確認（ログイン）",
        "認証コードの送信（ログイン）",
        "パスワードの確認（ログイン）",
    ]
    older = "".join(rows[rows.index(first) + 1 :])
    positions = [older.index(label) for label in labels]
    assert positions == sorted(positions)
    code_sign_in = next(row for row in rows if "ログイン（パスワード）" in row)
    assert "新しい端末" in code_sign_in and "メール" not in code_sign_in


async def test_password_reset_and_block_show_and_old_events_do_not(
    app: Quart, clock: FrozenClock
) -> None:
    account = await make_account(email="hanako@example.jp")
    who = Actor(kind="member", member_id=account.member_id, account_id=account.id)  # type: ignore[attr-defined]
    await record("account:password_reset:complete", who, clock.now - timedelta(days=91))
    await record("auth:account:block", who, clock.now - timedelta(days=89))
    await record("account:password_reset:complete", who, clock.now - timedelta(days=1))
    office = Actor(
        kind="staff", staff_id=1, member_id=who.member_id, user_agent="Mozilla/5.0 Edg/130.0"
    )
    await record("staff:member:sessions_end", office, clock.now - timedelta(hours=1))
    client = app.test_client()
    await login(client, account.email)
    rows = timeline_rows((await page(client, "/settings"))[1])
    assert sum("パスワードの再設定" in row for row in rows) == 1
    assert any("ログインの一時停止（失敗が続いたため）" in row for row in rows)
    [by_office] = [row for row in rows if "すべての端末のログアウト（生協による）" in row]
    assert "生協の職員による操作" in by_office and "Edge" not in by_office


async def test_another_members_events_never_show(app: Quart, clock: FrozenClock) -> None:
    theirs = await make_account(email="taro@example.jp")
    soft = SoftAuthenticator()
    other = app.test_client()
    await member_with_passkey(other, theirs.email, soft)
    await passkey_sign_in(app.test_client(), soft)
    who = Actor(kind="member", member_id=theirs.member_id, account_id=theirs.id)  # type: ignore[attr-defined]
    await record("auth:account:block", who, clock.now)
    await record("account:password_reset:complete", who, clock.now)

    mine = await make_account(email="hanako@example.jp")
    me = app.test_client()
    await login(me, mine.email)
    rows = timeline_rows((await page(me, "/settings"))[1])
    text = "".join(rows)
    assert "ログイン（パスワード）" in text
    for label in ("パスキー", "一時停止", "パスワードの再設定", "Safari"):
        assert label not in text
    assert sum("ログイン（パスワード）" in row for row in rows) == 1
