"""What every passkey ceremony shares: errors, the user handle, re-authentication.

Adding a passkey is in registration.py, using one (sign-in, re-authentication)
in signin.py, one-use challenges in challenges.py, and listing, renaming and
removing in manage.py.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from server.audit.events import PasskeyEvent
from server.audit.service import Actor, record
from server.auth.models import Account, Session
from server.auth.passwords import password_matches
from server.auth.reauth import last_reauthenticated, mark_reauthenticated
from server.errors import DomainError
from server.passkeys import webauthn as wa
from server.passkeys.models import PasskeyUser

REAUTH_WINDOW = timedelta(minutes=5)
MAX_PASSKEYS = 20
USER_HANDLE_BYTES = 32

REGISTRATION = "registration"
AUTHENTICATION = "authentication"
REAUTHENTICATION = "reauthentication"


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
    who = actor.as_member(account)
    if not ok:
        await record(PasskeyEvent.REAUTH_FAILURE, who, now)
        raise ReauthFailed()
    await mark_reauthenticated(session.id, "password", now)
    await record(PasskeyEvent.REAUTH_SUCCESS, who, now, method="password")


async def user_handle(account: Account, now: datetime) -> bytes:
    """The account's WebAuthn user handle, made on first use (the same for all its passkeys)."""
    row = await PasskeyUser.filter(account_id=account.id).first()
    if row is None:
        handle = wa.encode(secrets.token_bytes(USER_HANDLE_BYTES))
        row, _ = await PasskeyUser.get_or_create(
            account_id=account.id, defaults={"user_handle": handle, "created_at": now}
        )
    return wa.decode(row.user_handle)
