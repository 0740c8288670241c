"""Forgotten password: a mailed link that works once, within 30 minutes.

Asking never tells whether the address is registered. Opening the link
(as mail scanners do) changes nothing; only posting the new password uses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from server.account.models import PasswordReset
from server.audit.events import AccountEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState
from server.auth.passwords import check_new_password
from server.auth.service import unblock
from server.auth.sessions import end_all_sessions
from server.config import Settings
from server.errors import DomainError
from server.lib.text import normalize_email
from server.mail.compose import enqueue_mail
from server.security import hash_password, new_token, token_hash

RESET_LIFETIME = timedelta(minutes=30)
# Per account, whatever the address asking: someone typing a member's address
# from many places must not fill their inbox (nor get the co-op's mail domain
# refused by the phone carriers' filters). The answer on screen is the same.
RESET_MAILS_PER_HOUR = 3


class ResetInputError(DomainError):
    """The request form is unusable."""


class ResetLinkInvalid(DomainError):
    """Unknown, used or expired link."""

    def __init__(self) -> None:
        super().__init__(
            "このリンクは無効か、有効期限（30分）が切れています。"
            "お手数ですが、もう一度パスワードの再設定をお申し込みください。"
        )


async def request_password_reset(
    email: str, now: datetime, settings: Settings, actor: Actor
) -> None:
    """Mail a reset link if the address is a registered member's; otherwise do nothing."""
    address = normalize_email(email)
    if not address:
        raise ResetInputError("メールアドレスを入力してください。")
    if len(address) > 254:
        raise ResetInputError("メールアドレスが長すぎます。入力内容を確認してください。")
    account = await Account.filter(email=address, state=AccountState.ACTIVE).first()
    if account is None:
        await record(AccountEvent.RESET_REQUEST, actor, now, known=False)
        return
    recent = await PasswordReset.filter(
        account_id=account.id, created_at__gt=now - timedelta(hours=1)
    ).count()
    if recent >= RESET_MAILS_PER_HOUR:
        await record(
            AccountEvent.RESET_REQUEST, actor.as_member(account), now, known=True, mailed=False
        )
        return
    token = new_token()
    async with in_transaction():
        await PasswordReset.create(
            token_hash=token_hash(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + RESET_LIFETIME,
        )
        await enqueue_mail(
            account.email,
            "password_reset",
            settings,
            now,
            expires_at=now + RESET_LIFETIME,
            url=f"{settings.base_url.rstrip('/')}/password/reset/{token}",
            minutes=30,
        )
        await record(AccountEvent.RESET_REQUEST, actor.as_member(account), now, known=True)


async def live_reset(token: str, now: datetime) -> PasswordReset:
    """The reset a link stands for, with its account and member, without using it up."""
    if not token or len(token) > 100:
        raise ResetLinkInvalid()
    reset = (
        await PasswordReset.filter(token_hash=token_hash(token))
        .select_related("account__member")
        .first()
    )
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        raise ResetLinkInvalid()
    if reset.account.state != AccountState.ACTIVE:
        raise ResetLinkInvalid()
    return reset


async def reset_password(
    token: str, password: str, confirm: str, now: datetime, settings: Settings, actor: Actor
) -> Account:
    """Set the new password: the link dies, sessions end, blocks lift, a notice is mailed."""
    reset = await live_reset(token, now)
    account = reset.account
    value = check_new_password(
        password,
        confirm,
        member_no=account.member.member_no,
        email=account.email,
        coop_name=settings.coop_name,
    )
    new_hash = await hash_password(value)
    who = actor.as_member(account)
    async with in_transaction():
        if not await PasswordReset.filter(id=reset.id, used_at=None).update(used_at=now):
            raise ResetLinkInvalid()
        # Any other link still in a mailbox dies with this one.
        await PasswordReset.filter(account_id=account.id, used_at=None).update(used_at=now)
        account.password_hash = new_hash
        await account.save(update_fields=["password_hash"])
        ended = await end_all_sessions(account.id)
        await unblock(account, now, who)
        await enqueue_mail(
            account.email, "password_changed", settings, now, name=account.member.name
        )
        await record(AccountEvent.RESET_COMPLETE, who, now, sessions_ended=ended)
    return account
