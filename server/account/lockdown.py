"""Locking an account down: everything that lets a device in or reach the member ends.

One service for every occasion that needs it: re-registration (whoever held
the account before must lose every way in), the member's own 「端末をなくしたとき」
switch in /settings, and the same switch pressed by a clerk on the phone.
The password and the sign-in address stay: they are what the member signs
in with afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from server.account.signin import forget_all_browsers
from server.audit.service import Actor, record
from server.auth.models import Account
from server.auth.sessions import end_all_sessions
from server.passkeys.manage import remove_all_passkeys
from server.passkeys.models import Passkey
from server.push.service import remove_all_for_account
from server.requests.models import EmailChange


class LockdownEvent(StrEnum):
    """Audit events, named area:subject:action."""

    LOST_DEVICE = "account:lockdown:lost_device"
    REREGISTRATION = "account:lockdown:reregistration"


# What else a device may hold that lets it show or prove membership, each a
# coroutine (account, now, actor) -> how many were revoked, under the name the
# result and the audit event report it by. Card certificates (server/card)
# belong here: REVOCATIONS["card_certificates"] = <revoke_member_certificates>.
Revocation = Callable[[Account, datetime, Actor], Awaitable[int]]
REVOCATIONS: dict[str, Revocation] = {}


@dataclass(frozen=True)
class LockdownResult:
    """How much each part of the lock-down removed."""

    sessions: int
    passkeys: int
    push_subscriptions: int
    email_changes: int
    browsers: int
    revoked: dict[str, int] = field(default_factory=dict)

    @property
    def removed_anything_but_sessions(self) -> bool:
        """True when a passkey, push device, pending change or remembered browser went."""
        return bool(
            self.passkeys
            or self.push_subscriptions
            or self.email_changes
            or self.browsers
            or any(self.revoked.values())
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
    changes, remembered browsers and whatever REVOCATIONS lists; audited, in one transaction."""
    async with in_transaction():
        result = LockdownResult(
            sessions=await end_all_sessions(account.id),
            passkeys=await remove_passkeys(account.id, passkey_ids),
            push_subscriptions=await remove_all_for_account(account.id),
            email_changes=await EmailChange.filter(account_id=account.id, used_at=None).delete(),
            browsers=await forget_all_browsers(account.id),
            revoked={
                name: await revoke(account, now, actor) for name, revoke in REVOCATIONS.items()
            },
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
            **result.revoked,
        )
    return result
