"""Using a passkey: signing in with it, or confirming it is still the member."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.audit.events import PasskeyEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState, Session
from server.auth.reauth import mark_reauthenticated
from server.passkeys import webauthn as wa
from server.passkeys.challenges import (
    CeremonyFailed,
    ChallengeInvalid,
    issue_challenge,
    used_assertion,
)
from server.passkeys.models import Passkey
from server.passkeys.service import (
    AUTHENTICATION,
    REAUTHENTICATION,
    PasskeyRuleError,
    PasskeySignInFailed,
    ReauthFailed,
    UnknownPasskey,
    user_handle,
)


async def authentication_options(
    rp: wa.RelyingParty, binding: str, now: datetime
) -> dict[str, Any]:
    """Options for signing in with any discoverable passkey (no email needed first)."""
    options = wa.authentication_options(rp)
    return await issue_challenge(options, AUTHENTICATION, binding, now)


async def _verified_use(
    credential: Any,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    actor: Actor,
    *,
    ceremony: str,
    failure: PasskeyEvent,
    account_id: int | None = None,
) -> tuple[Passkey, Account]:
    """Check one use of a passkey (sign-in or re-authentication) and record it on the passkey."""
    who = actor
    try:
        parsed, challenge = await used_assertion(credential, ceremony, binding, now, account_id)
    except CeremonyFailed as error:
        await record(failure, who, now, reason=error.reason)
        raise (ChallengeInvalid() if error.challenge_refused else PasskeySignInFailed()) from error
    passkey = (
        await Passkey.filter(credential_id=wa.encode(parsed.raw_id))
        .select_related("account__member")
        .first()
    )
    if passkey is None or (account_id is not None and passkey.account_id != account_id):  # type: ignore[attr-defined]
        await record(failure, who, now, reason="unknown_credential")
        raise UnknownPasskey()
    account: Account = passkey.account
    who = actor.as_member(account)
    if account.state != AccountState.ACTIVE:
        await record(failure, who, now, reason="account_unusable")
        raise PasskeySignInFailed()
    handle = parsed.response.user_handle
    if handle is not None and handle != await user_handle(account, now):
        await record(failure, who, now, reason="user_handle_mismatch")
        raise PasskeySignInFailed()
    try:
        assertion = wa.verify_authentication(
            rp,
            parsed,
            challenge,
            public_key=bytes(passkey.public_key),
            stored_sign_count=passkey.sign_count,
        )
    except wa.SignCountRegression as error:
        await record(
            PasskeyEvent.COUNTER_REGRESSION,
            who,
            now,
            passkey_id=passkey.id,
            stored=error.stored,
            presented=error.presented,
        )
        raise PasskeySignInFailed(
            "このパスキーは安全のため使用できません。パスワードでログインし、"
            "設定画面でこのパスキーを削除して登録し直してください。"
        ) from error
    except wa.PasskeyError as error:
        await record(failure, who, now, passkey_id=passkey.id, reason=error.reason[:200])
        raise PasskeySignInFailed() from error
    # Compare-and-set on the counter: of two concurrent uses of one assertion, one wins.
    updated = await Passkey.filter(id=passkey.id, sign_count=passkey.sign_count).update(
        sign_count=assertion.sign_count,
        last_used_at=now,
        backup_eligible=assertion.backup_eligible,
        backed_up=assertion.backed_up,
    )
    if updated != 1:
        await record(failure, who, now, reason="concurrent_use")
        raise PasskeySignInFailed()
    return passkey, account


async def sign_in_with_passkey(
    credential: Any, rp: wa.RelyingParty, binding: str, now: datetime, actor: Actor
) -> tuple[Account, int]:
    """Verify an assertion; the account to start a multi-factor session for, and the passkey id."""
    passkey, account = await _verified_use(
        credential,
        rp,
        binding,
        now,
        actor,
        ceremony=AUTHENTICATION,
        failure=PasskeyEvent.LOGIN_FAILURE,
    )
    # The success is recorded when the session starts (`start_session`), not
    # here: a member whose access has ended is refused after this (16.3.1).
    return account, passkey.id


async def reauthentication_options(
    account: Account, rp: wa.RelyingParty, binding: str, now: datetime
) -> dict[str, Any]:
    """Options to confirm it is the member, with one of their own passkeys."""
    own = await Passkey.filter(account_id=account.id).values_list("credential_id", flat=True)
    if not own:
        raise PasskeyRuleError("登録されているパスキーがありません。")
    options = wa.authentication_options(rp, allow=[wa.decode(str(cid)) for cid in own])
    return await issue_challenge(options, REAUTHENTICATION, binding, now, account.id)


async def reauthenticate_with_passkey(
    account: Account,
    session: Session,
    credential: Any,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    actor: Actor,
) -> None:
    """A use of one of the member's own passkeys counts as a fresh strong authentication."""
    try:
        passkey, _ = await _verified_use(
            credential,
            rp,
            binding,
            now,
            actor.as_member(account),
            ceremony=REAUTHENTICATION,
            failure=PasskeyEvent.REAUTH_FAILURE,
            account_id=account.id,
        )
    except (PasskeySignInFailed, ChallengeInvalid) as error:
        raise ReauthFailed(
            "パスキーで本人確認できませんでした。もう一度お試しください。"
        ) from error
    await mark_reauthenticated(session.id, "passkey", now)
    await record(
        PasskeyEvent.REAUTH_SUCCESS,
        actor.as_member(account),
        now,
        method="passkey",
        passkey_id=passkey.id,
    )
