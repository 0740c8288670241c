"""Changing the sign-in address: a six-digit code to the new address, a notice to the old."""

from __future__ import annotations

import hmac
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.account.service import (
    CODE_DIGITS,
    CODE_LIFETIME,
    MAX_ATTEMPTS,
    code_hash,
    new_code,
    spend_try,
)
from server.audit.events import RequestEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.auth.sessions import SignInKept, end_other_sign_ins
from server.config import Settings
from server.errors import DomainError
from server.lib.text import AddressInvalid, digits_only, valid_email
from server.requests import notify
from server.requests.models import EmailChange


class EmailChangeError(DomainError):
    """The new address or the code was not accepted."""


def _flow(change_id: int) -> str:
    # The keyed code hash of the account feature, bound to this change.
    return f"email-change:{change_id}"


def check_address(value: str) -> str:
    """Exactly one address, normalised (full-width and capitals accepted)."""
    try:
        return valid_email(value)
    except AddressInvalid as error:
        raise EmailChangeError(error.message) from None


async def start_email_change(
    account: Account, new_address: str, settings: Settings, now: datetime, actor: Actor
) -> EmailChange:
    """Mail a code to the new address (if taken, only a notice to its owner); earlier ones die."""
    address = check_address(new_address)
    if address == account.email:
        raise EmailChangeError(
            "現在と同じメールアドレスです。新しいメールアドレスを入力してください。"
        )
    # A taken address gets the same answer as a free one, so the form cannot
    # tell who is a member: a pending change, the code page. No code goes to
    # it (the code below is never sent), only a short notice to its owner;
    # confirmation refuses the change if the address is taken by then.
    owner = await Account.filter(email=address).exclude(id=account.id).first()
    code = new_code()
    async with in_transaction():
        await EmailChange.filter(account_id=account.id, used_at=None).update(expires_at=now)
        change = await EmailChange.create(
            account_id=account.id,
            new_email=address,
            code_hash="",
            attempts=0,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
        change.code_hash = code_hash(settings.secret_key, _flow(change.id), code)
        await change.save(update_fields=["code_hash"])
        if owner is None:
            await notify.email_change_code(address, settings, now, code=code, minutes=10)
        else:
            await notify.email_in_use_notice(address, settings, now, owner_id=owner.id)
        await record(
            RequestEvent.EMAIL_CODE_SENT, actor, now, change=change.id, in_use=owner is not None
        )
    return change


async def pending_email_change(account_id: int, now: datetime) -> EmailChange | None:
    """The change waiting for its code, if it is still alive."""
    return (
        await EmailChange.filter(account_id=account_id, used_at=None, expires_at__gt=now)
        .order_by("-created_at", "-id")
        .first()
    )


async def confirm_email_change(
    account: Account,
    entered: str,
    settings: Settings,
    now: datetime,
    actor: Actor,
    *,
    keep: SignInKept,
) -> str:
    """Check the code; replace the address, tell the old one, end other sign-ins."""
    change = await pending_email_change(account.id, now)
    digits = digits_only(entered)
    if change is not None and len(digits) != CODE_DIGITS:
        raise EmailChangeError("認証コードは、メールに記載の6桁の数字で入力してください。")
    # The try is spent before the comparison, so racing guesses share the five.
    used = None if change is None else await spend_try(EmailChange, change.id, now)
    if change is None or used is None:
        raise EmailChangeError(
            "認証コードの有効期限（10分）が切れたか、入力できる回数を超えました。"
            "もう一度、新しいメールアドレスの入力からやり直してください。"
        )
    if not hmac.compare_digest(
        change.code_hash, code_hash(settings.secret_key, _flow(change.id), digits)
    ):
        await record(RequestEvent.EMAIL_CODE_FAILURE, actor, now, change=change.id)
        left = MAX_ATTEMPTS - used
        if left <= 0:
            raise EmailChangeError(
                f"認証コードを{MAX_ATTEMPTS}回間違えたため、このコードは使えなくなりました。"
                "もう一度、新しいメールアドレスの入力からやり直してください。"
            )
        raise EmailChangeError(
            f"認証コードが正しくありません。もう一度入力してください（あと{left}回）。"
        )
    old = account.email
    try:
        await _replace_address(account, change, old, settings, now, actor, keep)
    except IntegrityError as exc:  # the same address was taken at the same moment
        raise EmailChangeError(
            "このメールアドレスは使えません。別のメールアドレスを入力してください。"
        ) from exc
    account.email = change.new_email
    return change.new_email


async def _replace_address(
    account: Account,
    change: EmailChange,
    old: str,
    settings: Settings,
    now: datetime,
    actor: Actor,
    keep: SignInKept,
) -> None:
    async with in_transaction():
        if not await EmailChange.filter(id=change.id, used_at=None).update(used_at=now):
            raise EmailChangeError("この認証コードはすでに使われています。")
        if await Account.filter(email=change.new_email).exclude(id=account.id).exists():
            raise EmailChangeError(
                "このメールアドレスは使えません。別のメールアドレスを入力してください。"
            )
        await Account.filter(id=account.id).update(email=change.new_email)
        await notify.email_changed_notice(old, settings, now, new_email=change.new_email)
        # The sign-in name changed: other devices sign in again (ASVS 7.4.3).
        ended = await end_other_sign_ins(account.id, keep)
        await record(
            RequestEvent.EMAIL_CHANGED,
            actor,
            now,
            sessions_ended=ended.sessions,
            browsers_forgotten=ended.browsers,
        )
