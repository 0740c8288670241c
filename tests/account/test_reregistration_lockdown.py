"""Issue 15, defect 4: re-registering takes every way in away from whoever held the account."""

from __future__ import annotations

from server.audit.models import AuditEvent
from server.auth.models import Session
from server.lib.clock import FrozenClock
from server.members.models import Member
from server.passkeys.models import Passkey
from server.push.models import PushSubscription
from server.requests.models import EmailChange
from tests.account.devices import pending_email_change, subscribe_push
from tests.account.flows import issue, register
from tests.factories import make_account
from tests.helpers import login, post_form
from tests.passkeys.helpers import add_passkey, passkey_sign_in
from tests.passkeys.softauthn import SoftAuthenticator
from tests.smtp import deliver, mails_to


async def test_a_passkey_of_the_old_holder_no_longer_signs_in(app, client, clock: FrozenClock):
    account = await make_account(email="old@example.jp")
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    # Whoever held the account added a passkey, turned notices on, started an address change.
    holder = app.test_client()
    soft = SoftAuthenticator()
    assert (await login(holder, "old@example.jp")).status_code == 303
    await add_passkey(holder, soft)
    await subscribe_push(holder)
    await pending_email_change(holder, account, "holder@example.jp")
    # Another member's things stay.
    other = await make_account(email="taro@example.jp")
    other_browser = app.test_client()
    other_soft = SoftAuthenticator()
    assert (await login(other_browser, "taro@example.jp")).status_code == 303
    await add_passkey(other_browser, other_soft)
    await subscribe_push(other_browser)

    # The member phones the co-op, gets a new initial password and registers again.
    clock.advance(minutes=10)
    initial = await issue(member, clock())
    assert (await register(client, member, initial, "new@example.jp")).status_code == 303

    assert not await Passkey.filter(account_id=account.id).exists()
    assert not await PushSubscription.filter(member_id=member.id).exists()
    assert not await EmailChange.filter(account_id=account.id).exists()
    assert await Session.filter(account_id=account.id).count() == 1  # only the new browser
    holder.cookie_jar.clear()  # type: ignore[attr-defined]
    clock.advance(minutes=1)
    status, body = await passkey_sign_in(holder, soft)
    assert status == 400 and body.get("unknownCredential") is True
    assert await Session.filter(account_id=account.id).count() == 1
    (event,) = await AuditEvent.filter(event="account:lockdown:reregistration")
    assert event.member_id == member.id and event.data["passkeys"] == 1

    await deliver(app)
    mail = mails_to("new@example.jp")[-1]
    assert "利用登録が完了しました" in mail.body
    assert "これまでのご登録は、今回の登録で置き換わりました。" in mail.body
    assert "以前に登録されたパスキー（1件）" in mail.body
    assert "通知を受け取る端末の設定（1台）" in mail.body
    assert "手続き中だったメールアドレスの変更（1件）" in mail.body

    # The other member signs in with their passkey and keeps their device.
    assert await PushSubscription.filter(member_id=other.member_id).count() == 1  # type: ignore[attr-defined]
    await post_form(other_browser, "/logout", {}, token_from="/")
    status, _ = await passkey_sign_in(other_browser, other_soft)
    assert status == 200


async def test_a_first_registration_mail_says_nothing_was_removed(app, client, clock) -> None:
    from tests.factories import make_member

    member = await make_member()
    initial = await issue(member, clock())
    assert (await register(client, member, initial, "first@example.jp")).status_code == 303
    await deliver(app)
    mail = mails_to("first@example.jp")[-1]
    assert "利用登録が完了しました" in mail.body
    assert "置き換わりました" not in mail.body and "解除しました" not in mail.body
    assert not await AuditEvent.filter(event="account:lockdown:reregistration").exists()
