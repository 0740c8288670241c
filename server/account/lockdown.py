"""Locking an account down: everything that lets a device in or reach the member ends.

One service for every occasion that needs it: re-registration (whoever held
the account before must lose every way in), the member's own 「端末をなくしたとき」
switch in /settings, and the same switch pressed by a clerk on the phone.
The password and the sign-in address stay: they are what the member signs
in with afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from server.account.devices import forget_known_devices
from server.account.signin import forget_all_browsers
from server.audit.events import LockdownEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.auth.sessions import end_all_sessions
from server.card.revocation import revoke_member_certificates
from server.config import Settings
from server.errors import DomainError
from server.lib.formatting import jdatetime
from server.mail.compose import enqueue_mail
from server.members.models import Member
from server.passkeys.manage import remove_all_passkeys
from server.passkeys.models import Passkey
from server.push.service import remove_all_for_account
from server.requests.models import EmailChange

# More ticked passkeys than anyone keeps is not a form a browser sent.
MAX_CHOSEN = 100


@dataclass(frozen=True)
class LockdownResult:
    """How much each part of the lock-down removed."""

    sessions: int
    passkeys: int
    push_subscriptions: int
    email_changes: int
    browsers: int
    devices: int = 0
    # The device card's certificates: a shop's verifier answers 失効 from now on.
    card_certificates: int = 0

    @property
    def removed_anything_but_sessions(self) -> bool:
        """True when a passkey, push device, pending change or remembered browser went."""
        return bool(
            self.passkeys
            or self.push_subscriptions
            or self.email_changes
            or self.browsers
            or self.card_certificates
        )


async def remove_passkeys(account_id: int, passkey_ids: list[int] | None) -> int:
    """The account's chosen passkeys (None: all, with their ceremonies); others' ids do nothing."""
    if passkey_ids is None:
        return await remove_all_passkeys(account_id)
    if not passkey_ids:
        return 0
    return await Passkey.filter(account_id=account_id, id__in=passkey_ids).delete()


async def lock_down(
    account: Account,
    now: datetime,
    actor: Actor,
    *,
    event: LockdownEvent,
    passkey_ids: list[int] | None = None,
) -> LockdownResult:
    """End every session, remove passkeys (chosen or all), push devices, pending address
    changes, remembered and known browsers and card certificates; audited, one transaction."""
    async with in_transaction():
        result = LockdownResult(
            sessions=await end_all_sessions(account.id),
            passkeys=await remove_passkeys(account.id, passkey_ids),
            push_subscriptions=await remove_all_for_account(account.id),
            email_changes=await EmailChange.filter(account_id=account.id, used_at=None).delete(),
            browsers=await forget_all_browsers(account.id),
            # Known browsers go too: each is new again (a sign-in mails the owner).
            devices=await forget_known_devices(account.id),
            card_certificates=await revoke_member_certificates(
                account.member_id,  # type: ignore[attr-defined]
                now,
                event.value.rsplit(":", 1)[1],
            ),
        )
        await record(
            event,
            actor,
            now,
            sessions=result.sessions,
            passkeys=result.passkeys,
            passkeys_chosen="all" if passkey_ids is None else len(passkey_ids),
            push_subscriptions=result.push_subscriptions,
            email_changes=result.email_changes,
            browsers=result.browsers,
            devices=result.devices,
            card_certificates=result.card_certificates,
        )
    return result


class LostDeviceInputError(DomainError):
    """The passkey choice could not be read; nothing was changed."""


def chosen_passkeys(values: list[str]) -> list[int]:
    """The passkey ids ticked on the form (ids only; whose they are is checked by lock_down)."""
    if len(values) > MAX_CHOSEN or not all(
        value.isdecimal() and len(value) < 12 for value in values
    ):
        raise LostDeviceInputError(
            "削除するパスキーの選択を読み取れませんでした。ページを読み込み直して、もう一度お試しください。"
        )
    return [int(value) for value in values]


async def lost_device(
    account: Account,
    now: datetime,
    settings: Settings,
    actor: Actor,
    *,
    passkey_ids: list[int] | None = None,
) -> LockdownResult:
    """「端末をなくしたとき」: lock the account down and mail the member what was done.

    The member's own switch (also from a borrowed PC after a password and the
    mailed code) and a clerk's on the phone. No passkey is asked for: the
    switch only takes access away, and the password stays the way back in.
    """
    async with in_transaction():
        member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
        result = await lock_down(
            account, now, actor, event=LockdownEvent.LOST_DEVICE, passkey_ids=passkey_ids
        )
        await enqueue_mail(
            account.email,
            "lost_device",
            settings,
            now,
            name=member.name,
            at=jdatetime(now),
            by_staff=actor.kind == "staff",
            removed=result,
            passkeys_left=await Passkey.filter(account_id=account.id).count(),
        )
    return result
