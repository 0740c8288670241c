"""Browsers an account has signed in from, and the mail about a new one.

Each browser gets one long-lived random token in an HttpOnly cookie at its
first sign-in; the account keeps the token's hash (`KnownDevice`). A sign-in
whose browser brings no token, or one this account has not seen, is from a
new device. Its owner is mailed 「新しい端末からログインがありました」 unless
this very sign-in already mailed them a code (the code mail says that a
sign-in is happening), so each sign-in is told once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.account.models import KnownDevice
from server.account.signin import LOST_DEVICE_PATH
from server.audit.events import AccountEvent, AuthEvent
from server.audit.models import AuditEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.auth.sessions import TOUCH_EVERY
from server.config import Settings
from server.lib.formatting import jdatetime
from server.lib.useragent import browser_and_system
from server.mail.compose import enqueue_mail
from server.members.models import Member
from server.security import new_token, token_hash

# Browsers keep a cookie at most 400 days (Chrome's cap); each sign-in renews it.
DEVICE_LIFETIME = timedelta(days=400)
METHOD_NAMES = {"password": "パスワード", "passkey": "パスキー"}
# The events that end in a session: the device event points at the one it belongs to.
SIGN_IN_EVENTS = (
    str(AuthEvent.LOGIN_SUCCESS),
    str(AccountEvent.LOGIN_CODE_SUCCESS),
    str(AccountEvent.REGISTRATION_COMPLETE),
)


@dataclass(frozen=True)
class SeenDevice:
    """The browser's device token (to set again in its cookie) and whether it was new."""

    token: str
    new: bool


async def see_device(
    account: Account,
    token: str | None,
    now: datetime,
    settings: Settings,
    actor: Actor,
    *,
    method: str,
    mail_if_new: bool,
) -> SeenDevice:
    """Know this browser for this account from now on; mail the owner if it is new.

    `mail_if_new` is False where this sign-in already mailed the member (the
    sign-in code, registration) or the browser passed a code before (it is
    remembered): they hear about it once.
    """
    holders: list[KnownDevice] = []
    if token and len(token) <= 100:
        holders = await KnownDevice.filter(token_hash=token_hash(token))
    # A token is kept only if we issued it (to any account): a value planted in
    # the browser by someone else is replaced, not adopted.
    token = token if holders else None
    known = next((d for d in holders if d.account_id == account.id), None)  # type: ignore[attr-defined]
    if token is not None and known is not None:
        if now - known.last_seen_at >= TOUCH_EVERY:
            await KnownDevice.filter(id=known.id).update(
                last_seen_at=now, user_agent=actor.user_agent[:300]
            )
        return SeenDevice(token, new=False)
    token = token or new_token()
    who = actor.as_member(account)
    try:
        async with in_transaction():
            await KnownDevice.create(
                account_id=account.id,
                token_hash=token_hash(token),
                user_agent=actor.user_agent[:300],
                first_seen_at=now,
                last_seen_at=now,
            )
            sign_in = await _sign_in_event(who)
            await record(
                AccountEvent.DEVICE_NEW,
                who,
                now,
                method=method,
                mailed=mail_if_new,
                sign_in_event=sign_in,
            )
            if mail_if_new:
                await _mail_new_device(account, now, settings, actor, method)
    except IntegrityError:
        # The same new browser signed in twice at once: the other sign-in told.
        return SeenDevice(token, new=False)
    return SeenDevice(token, new=True)


async def _sign_in_event(who: Actor) -> int | None:
    # The sign-in this device belongs to was recorded a moment ago in this request.
    latest = (
        await AuditEvent.filter(member_id=who.member_id, event__in=SIGN_IN_EVENTS)
        .order_by("-id")
        .first()
    )
    return latest.id if latest is not None else None


async def _mail_new_device(
    account: Account, now: datetime, settings: Settings, actor: Actor, method: str
) -> None:
    browser, system = browser_and_system(actor.user_agent)
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    await enqueue_mail(
        account.email,
        "new_device",
        settings,
        now,
        name=member.name,
        at=jdatetime(now),
        browser=browser,
        system=system or "不明",
        method=METHOD_NAMES.get(method, method),
        lost_device_url=settings.base_url + LOST_DEVICE_PATH,
    )


async def forget_known_devices(account_id: int) -> int:
    """Forget every browser of an account (lost phone, re-registration): each is new again."""
    return await KnownDevice.filter(account_id=account_id).delete()
