"""The passkey rules: registration, sign-in and re-authentication ceremonies (A9).

One-use challenges are in challenges.py; listing, renaming and removing in manage.py."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.account.passwords import password_matches
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState, Session
from server.config import Settings
from server.errors import DomainError
from server.lib.formatting import jdatetime
from server.mail.compose import enqueue_mail
from server.members.models import Member
from server.passkeys import webauthn as wa
from server.passkeys.challenges import (
    CeremonyFailed,
    ChallengeInvalid,
    issue_challenge,
    used_assertion,
    verified_registration,
)
from server.passkeys.models import Passkey, PasskeyUser
from server.passkeys.providers import provider_name
from server.requests.reauth import last_reauthenticated, mark_reauthenticated

REAUTH_WINDOW = timedelta(minutes=5)
MAX_PASSKEYS = 20
USER_HANDLE_BYTES = 32

REGISTRATION = "registration"
AUTHENTICATION = "authentication"
REAUTHENTICATION = "reauthentication"


class PasskeyEvent(StrEnum):
    """Audit events of this feature, named area:subject:action."""

    CREDENTIAL_ADD = "passkey:credential:add"
    CREDENTIAL_ADD_FAILURE = "passkey:credential:add_failure"
    CREDENTIAL_RENAME = "passkey:credential:rename"
    CREDENTIAL_REMOVE = "passkey:credential:remove"
    COUNTER_REGRESSION = "passkey:credential:counter_regression"
    LOGIN_FAILURE = "passkey:login:failure"
    REAUTH_SUCCESS = "passkey:reauth:success"
    REAUTH_FAILURE = "passkey:reauth:failure"


SIGN_IN_FAILED = (
    "パスキーでログインできませんでした。もう一度お試しいただくか、"
    "メールアドレスとパスワードでログインしてください。"
)


class PasskeySignInFailed(DomainError):
    """A passkey sign-in was refused; the member can retry or use the password."""

    def __init__(self, message: str = SIGN_IN_FAILED) -> None:
        super().__init__(message)


class UnknownPasskey(PasskeySignInFailed):
    """The browser offered a passkey this site does not (or no longer) know."""

    def __init__(self) -> None:
        super().__init__(
            "このパスキーは登録されていないか、削除されています。"
            "メールアドレスとパスワードでログインしてください。"
        )


class RegistrationFailed(DomainError):
    """The new passkey could not be verified or stored."""


class ReauthRequired(DomainError):
    """Adding a passkey needs a recent sign-in or the password again."""

    status = 403

    def __init__(self) -> None:
        super().__init__("本人確認のため、パスワードをもう一度入力してください。")


class ReauthFailed(DomainError):
    """The re-entered password was wrong, or the passkey check failed."""

    def __init__(
        self, message: str = "パスワードが正しくありません。もう一度入力してください。"
    ) -> None:
        super().__init__(message)


class PasskeyRuleError(DomainError):
    """Renaming or removing was refused (bad name, last way to sign in, too many)."""


def relying_party(base_url: str, coop_name: str) -> wa.RelyingParty:
    """The relying party for MYPAGE_BASE_URL (RP ID = its host name)."""
    return wa.RelyingParty.from_base_url(base_url, f"{coop_name} マイページ")


def member_actor(account: Account, actor: Actor) -> Actor:
    """The request's actor, as this member."""
    return Actor(
        kind="member",
        member_id=account.member_id,  # type: ignore[attr-defined]
        account_id=account.id,
        ip=actor.ip,
        user_agent=actor.user_agent,
    )


# Re-authentication --------------------------------------------------------


async def last_strong_auth(session: Session) -> datetime:
    """The sign-in itself, or the latest re-authentication in this session."""
    reauth = await last_reauthenticated(session.id)
    if reauth is not None and reauth > session.created_at:
        return reauth
    return session.created_at


async def require_recent_auth(session: Session, now: datetime) -> None:
    """Adding a passkey needs a sign-in or password re-entry within the last 5 minutes."""
    if now - await last_strong_auth(session) > REAUTH_WINDOW:
        raise ReauthRequired()


async def reauthenticate(
    account: Account, session: Session, password: str, now: datetime, actor: Actor
) -> None:
    """Check the password again (argon2, off the loop) and remember when, for this session."""
    ok = await password_matches(account.password_hash, password)
    who = member_actor(account, actor)
    if not ok:
        await record(PasskeyEvent.REAUTH_FAILURE, who, now)
        raise ReauthFailed()
    await mark_reauthenticated(session.id, "password", now)
    await record(PasskeyEvent.REAUTH_SUCCESS, who, now, method="password")


# Registration -------------------------------------------------------------


async def _user_handle(account: Account, now: datetime) -> bytes:
    row = await PasskeyUser.filter(account_id=account.id).first()
    if row is None:
        handle = wa.encode(secrets.token_bytes(USER_HANDLE_BYTES))
        row, _ = await PasskeyUser.get_or_create(
            account_id=account.id, defaults={"user_handle": handle, "created_at": now}
        )
    return wa.decode(row.user_handle)


async def registration_options(
    account: Account,
    member_name: str,
    session: Session,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
) -> dict[str, Any]:
    """Options for creating a passkey, after checking the recent sign-in rule."""
    await require_recent_auth(session, now)
    existing = await Passkey.filter(account_id=account.id).values_list("credential_id", flat=True)
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyRuleError(
            f"パスキーは{MAX_PASSKEYS}個まで登録できます。使っていないものを削除してください。"
        )
    options = wa.registration_options(
        rp,
        user_handle=await _user_handle(account, now),
        user_name=account.email,
        display_name=member_name,
        exclude=[wa.decode(str(cid)) for cid in existing],
    )
    return await issue_challenge(options, REGISTRATION, binding, now, account.id)


async def _default_name(account_id: int, aaguid: str) -> str:
    base = provider_name(aaguid) or "パスキー"
    names = set(await Passkey.filter(account_id=account_id).values_list("name", flat=True))
    if base not in names:
        return base
    n = 2
    while f"{base}（{n}）" in names:
        n += 1
    return f"{base}（{n}）"


async def register_passkey(
    account: Account,
    session: Session,
    credential: Any,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    actor: Actor,
    settings: Settings,
) -> Passkey:
    """Verify a new passkey against its one-use challenge and store it (audited, mailed)."""
    who = member_actor(account, actor)
    failed = RegistrationFailed(
        "パスキーを登録できませんでした。もう一度お試しください。"
        "解決しない場合は、別の端末やパスワード管理アプリでお試しください。"
    )
    await require_recent_auth(session, now)
    try:
        new = await verified_registration(credential, REGISTRATION, rp, binding, now, account.id)
    except CeremonyFailed as error:
        await record(PasskeyEvent.CREDENTIAL_ADD_FAILURE, who, now, reason=error.reason)
        raise (ChallengeInvalid() if error.challenge_refused else failed) from error
    credential_id = wa.encode(new.credential_id)
    duplicate = RegistrationFailed("このパスキーはすでに登録されています。")
    if await Passkey.filter(credential_id=credential_id).exists():
        await record(PasskeyEvent.CREDENTIAL_ADD_FAILURE, who, now, reason="duplicate")
        raise duplicate
    name = await _default_name(account.id, new.aaguid)
    try:
        passkey = await _store(account, new, credential_id, name, now, who, settings)
    except IntegrityError as error:  # the same credential, registered concurrently
        await record(PasskeyEvent.CREDENTIAL_ADD_FAILURE, who, now, reason="duplicate")
        raise duplicate from error
    return passkey


async def _store(
    account: Account,
    new: wa.NewCredential,
    credential_id: str,
    name: str,
    now: datetime,
    who: Actor,
    settings: Settings,
) -> Passkey:
    async with in_transaction():
        passkey = await Passkey.create(
            account_id=account.id,
            credential_id=credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            aaguid=new.aaguid,
            name=name,
            transports=new.transports,
            backup_eligible=new.backup_eligible,
            backed_up=new.backed_up,
            created_at=now,
        )
        await record(
            PasskeyEvent.CREDENTIAL_ADD,
            who,
            now,
            passkey_id=passkey.id,
            name=name,
            aaguid=new.aaguid,
            backup_eligible=new.backup_eligible,
            backed_up=new.backed_up,
        )
        context = await passkey_added_mail(account, passkey)
        await enqueue_mail(account.email, "passkey_added", settings, now, **context)
    return passkey


async def passkey_added_mail(account: Account, passkey: Passkey) -> dict[str, Any]:
    """Context for templates/mail/passkey_added/ (subject.txt, body.txt)."""
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    return {
        "email": account.email,
        "member_name": member.name,
        "passkey_name": passkey.name,
        "provider": provider_name(passkey.aaguid),
        "added_at": jdatetime(passkey.created_at),
    }


# Sign-in ------------------------------------------------------------------


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
    who = member_actor(account, actor)
    if account.state != AccountState.ACTIVE:
        await record(failure, who, now, reason="account_unusable")
        raise PasskeySignInFailed()
    handle = parsed.response.user_handle
    if handle is not None and handle != await _user_handle(account, now):
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
            member_actor(account, actor),
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
        member_actor(account, actor),
        now,
        method="passkey",
        passkey_id=passkey.id,
    )
