"""The authentication code at sign-in from a browser not seen before.

A password sign-in from a browser without a live "remember this browser"
token is held until the member types the code mailed to them. Passkey
sign-ins never ask for it: call `login_needs_code(..., method="passkey")`,
or simply start the session, as the passkey already proves the device.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from server.account.codes import (
    CODE_LIFETIME,
    CODE_WINDOW,
    CodeCap,
    TooManyCodes,
    TooManyWrongCodes,
    check_code,
    code_cap,
    issue_code,
    lock_member_codes,
)
from server.account.models import AuthCode, CodePurpose, RememberedBrowser
from server.audit.events import AccountEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState
from server.auth.sessions import TOUCH_EVERY
from server.config import Settings
from server.errors import DomainError
from server.lib.formatting import jdatetime
from server.lib.useragent import browser_and_system
from server.mail.compose import code_ref, enqueue_mail
from server.outbox.models import OutboxMessage
from server.security import new_token, token_hash

CODE_METHODS = frozenset({"password"})
LOST_DEVICE_PATH = "/settings/lost-device"


class LoginCodeLost(DomainError):
    """The held sign-in is over (expired, or too many wrong codes): sign in again."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "ログインの有効期限が切れました。お手数ですが、もう一度ログインしてください。"
        )


async def browser_is_remembered(account_id: int, token: str | None, now: datetime) -> bool:
    """True when this browser's remember token is live for this account."""
    if not token or len(token) > 100:
        return False
    browser = await RememberedBrowser.get_or_none(token_hash=token_hash(token))
    if browser is None:
        return False
    if browser.account_id != account_id or now >= browser.expires_at:  # type: ignore[attr-defined]
        return False
    # "Last used" is shown in /settings; like a session's, it moves once a minute at most.
    if now - browser.last_used_at >= TOUCH_EVERY:
        await RememberedBrowser.filter(id=browser.id).update(last_used_at=now)
    return True


async def login_needs_code(
    account: Account, remembered_token: str | None, now: datetime, *, method: str = "password"
) -> bool:
    """Whether this sign-in must be confirmed with a mailed code (never for passkeys)."""
    if method not in CODE_METHODS:
        return False
    return not await browser_is_remembered(account.id, remembered_token, now)


async def start_login_code(
    account: Account, now: datetime, settings: Settings, actor: Actor
) -> str:
    """Mail a code for this sign-in; returns the token the browser keeps until it answers.

    Five codes an hour per account: the sixth correct password within the hour
    gets TooManyCodes (no code), and the owner one mail saying so (ASVS 6.6.3).
    """
    flow = new_token()
    flow_hash = token_hash(flow)
    member_id = account.member_id  # type: ignore[attr-defined]
    async with in_transaction():
        # Counted and issued under the member's lock: racing sign-ins cannot both be the fifth.
        await lock_member_codes(member_id)
        cap = await code_cap(CodePurpose.LOGIN, member_id, now, settings.codes_per_hour)
        if cap is not None:
            await _refuse_code(account, cap, now, settings, actor)
        else:
            await _mail_code(account, flow_hash, now, settings, actor)
    if cap is not None:
        raise TooManyCodes(cap.retry_at, now)
    return flow


async def _mail_code(
    account: Account, flow_hash: str, now: datetime, settings: Settings, actor: Actor
) -> None:
    code = await issue_code(
        CodePurpose.LOGIN,
        flow_hash,
        member_id=account.member_id,  # type: ignore[attr-defined]
        account_id=account.id,
        email=account.email,
        now=now,
        secret_key=settings.secret_key,
    )
    await enqueue_mail(
        account.email,
        "login_code",
        settings,
        now,
        expires_at=now + CODE_LIFETIME,
        ref=code_ref(flow_hash),
        code=code,
        name=account.member.name,
        minutes=10,
        at=jdatetime(now),
        device=browser_and_system(actor.user_agent),
    )
    await record(AccountEvent.LOGIN_CODE_SENT, actor.as_member(account), now)


async def _refuse_code(
    account: Account, cap: CodeCap, now: datetime, settings: Settings, actor: Actor
) -> None:
    # One mail per run of refusals: keyed by the oldest code of the hour, so a
    # flood of correct passwords mails the owner once, not once per attempt.
    key = f"login-code-cap:{account.id}:{cap.oldest_id}"
    mailed = not await OutboxMessage.filter(dedupe_key=key).exists()
    if mailed:
        await enqueue_mail(
            account.email,
            "login_code_capped",
            settings,
            now,
            dedupe_key=key,
            name=account.member.name,
            codes=settings.codes_per_hour,
            hours=int(CODE_WINDOW.total_seconds() // 3600),
            at=jdatetime(now),
            until=jdatetime(cap.retry_at),
            lost_device_url=settings.base_url + LOST_DEVICE_PATH,
        )
    who = actor.as_member(account)
    until = cap.retry_at.isoformat()
    await record(AccountEvent.LOGIN_CODE_CAPPED, who, now, until=until, mailed=mailed)


async def finish_login_code(
    flow: str | None, code: str, now: datetime, settings: Settings, actor: Actor
) -> Account:
    """Check the code of a held sign-in; returns the account to start a session for."""
    if not flow or len(flow) > 100:
        raise LoginCodeLost()
    flow_hash = token_hash(flow)
    pending = await AuthCode.filter(flow_hash=flow_hash, purpose=CodePurpose.LOGIN).first()
    if pending is None or pending.account_id is None:  # type: ignore[attr-defined]
        raise LoginCodeLost()
    account = await Account.filter(id=pending.account_id).select_related("member").first()  # type: ignore[attr-defined]
    if account is None:
        raise LoginCodeLost()
    try:
        await check_code(CodePurpose.LOGIN, flow_hash, code, now, settings.secret_key)
    except TooManyWrongCodes as stopped:
        until = stopped.retry_at.isoformat()
        await record(AccountEvent.CODE_CHECKS_STOPPED, actor.as_member(account), now, until=until)
        raise
    except DomainError:
        await record(AccountEvent.CODE_FAILURE, actor.as_member(account), now, purpose="login")
        raise
    blocked = account.blocked_until is not None and now < account.blocked_until
    if account.state != AccountState.ACTIVE or blocked:
        raise LoginCodeLost("ログインできませんでした。もう一度ログインしてください。")
    await record(AccountEvent.LOGIN_CODE_SUCCESS, actor.as_member(account), now)
    return account


async def remember_browser(
    account: Account, now: datetime, days: int, actor: Actor
) -> tuple[str, timedelta]:
    """Remember this browser for `days`; returns the cookie token and its lifetime."""
    token = new_token()
    lifetime = timedelta(days=days)
    await RememberedBrowser.create(
        token_hash=token_hash(token),
        account_id=account.id,
        user_agent=actor.user_agent[:300],
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
    )
    await record(AccountEvent.BROWSER_REMEMBER, actor.as_member(account), now)
    return token, lifetime


async def remembered_browsers(account_id: int, now: datetime) -> list[RememberedBrowser]:
    """The member's live remembered browsers (for a settings page), newest first."""
    return list(
        await RememberedBrowser.filter(account_id=account_id, expires_at__gt=now).order_by(
            "-last_used_at"
        )
    )


async def forget_browser(account_id: int, browser_id: int) -> bool:
    """Revoke one of the member's own remembered browsers; False if it is not theirs."""
    return bool(await RememberedBrowser.filter(id=browser_id, account_id=account_id).delete())


async def forget_all_browsers(account_id: int) -> int:
    """Revoke every remembered browser of a member (the code is asked again everywhere)."""
    return await RememberedBrowser.filter(account_id=account_id).delete()
