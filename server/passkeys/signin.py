"""Using a passkey: signing in with it, or confirming it is still the member."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from server.audit.events import PasskeyEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState, Session
from server.auth.reauth import mark_reauthenticated
from server.passkeys import webauthn as wa
from server.passkeys.assertion import Signer, verified_use
from server.passkeys.challenges import ChallengeInvalid, issue_challenge
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


def _account_refusal(account: Account) -> str | None:
    """Why this account may not use a passkey now, for the log (only active accounts may)."""
    return None if account.state == AccountState.ACTIVE else "account_unusable"


MEMBERS: Signer[Passkey, Account] = Signer(
    model=Passkey,
    owner="account",
    related="account__member",
    refusal=_account_refusal,
    user_handle=user_handle,
    as_actor=Actor.as_member,
    counter_regression=PasskeyEvent.COUNTER_REGRESSION,
    failed=PasskeySignInFailed,
    unknown=UnknownPasskey,
    cloned=partial(
        PasskeySignInFailed,
        "このパスキーは安全のため使用できません。パスワードでログインし、"
        "設定画面でこのパスキーを削除して登録し直してください。",
    ),
    backup_flags=True,
)


async def sign_in_with_passkey(
    credential: Any, rp: wa.RelyingParty, binding: str, now: datetime, actor: Actor
) -> tuple[Account, int]:
    """Verify an assertion; the account to start a multi-factor session for, and the passkey id."""
    passkey, account = await verified_use(
        MEMBERS,
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
        passkey, _ = await verified_use(
            MEMBERS,
            credential,
            rp,
            binding,
            now,
            actor.as_member(account),
            ceremony=REAUTHENTICATION,
            failure=PasskeyEvent.REAUTH_FAILURE,
            owner_id=account.id,
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
