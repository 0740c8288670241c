"""Staff sign-in: passkeys through a set-up link, signing in, and a clerk's own passkeys."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.audit.events import StaffEvent
from server.audit.service import Actor, record
from server.config import Settings
from server.errors import NotFound
from server.passkeys import webauthn as wa
from server.passkeys.assertion import Signer, verified_use
from server.passkeys.challenges import (
    CeremonyFailed,
    ChallengeInvalid,
    issue_challenge,
    verified_registration,
)
from server.security import token_hash
from server.staff.accounts.service import StaffError
from server.staff.models import StaffPasskey, StaffSession, StaffSetupLink, StaffUser

SETUP = "staff_setup"
ADD = "staff_add"
SIGN_IN = "staff_authentication"
RECENT_SIGN_IN = timedelta(minutes=5)
MAX_PASSKEYS = 10

SIGN_IN_FAILED = (
    "パスキーでログインできませんでした。職員用に登録したパスキーでもう一度お試しください。"
    "パスキーを失くした場合は、管理者に登録用リンクの再送を依頼してください。"
)


class StaffSignInFailed(StaffError):
    """Sign-in refused: unknown passkey, inactive staff, failed verification."""

    def __init__(self, message: str = SIGN_IN_FAILED) -> None:
        super().__init__(message)


class RecentSignInRequired(StaffError):
    """Adding or removing a passkey more than five minutes after signing in."""

    def __init__(self) -> None:
        super().__init__(
            "安全のため、パスキーの追加や削除はログインしてから5分以内に行ってください。"
            "もう一度パスキーでログインしてからお試しください。"
        )


class SetupLinkInvalid(StaffError):
    """The set-up link is unknown, used or expired."""

    status = 404

    def __init__(self) -> None:
        super().__init__(
            "このリンクは使えません。有効期限が切れたか、すでに使われています。"
            "管理者に新しい登録用リンクを依頼してください。"
        )


def relying_party(settings: Settings) -> wa.RelyingParty:
    """The staff console's relying party: its own host with MYPAGE_STAFF_BASE_URL (ASVS 3.5.4)."""
    return wa.RelyingParty.from_base_url(settings.staff_url, f"{settings.coop_name} 職員用画面")


# Set-up link: the first passkey -------------------------------------------


async def live_setup_link(token: str, now: datetime) -> StaffSetupLink:
    """The unused, unexpired set-up link for a token, with its active staff member."""
    if not token or len(token) > 100:
        raise SetupLinkInvalid()
    link = await StaffSetupLink.filter(token_hash=token_hash(token)).select_related("staff").first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise SetupLinkInvalid()
    if not link.staff.active:
        raise SetupLinkInvalid()
    return link


async def _registration_options(
    staff: StaffUser, ceremony: str, rp: wa.RelyingParty, binding: str, now: datetime
) -> dict[str, Any]:
    existing = await StaffPasskey.filter(staff_id=staff.id).values_list("credential_id", flat=True)
    if len(existing) >= MAX_PASSKEYS:
        raise StaffError(f"パスキーは{MAX_PASSKEYS}個まで登録できます。")
    options = wa.registration_options(
        rp,
        user_handle=wa.decode(staff.user_handle),
        user_name=staff.email,
        display_name=f"{staff.name}（職員）",
        exclude=[wa.decode(str(cid)) for cid in existing],
    )
    return await issue_challenge(options, ceremony, binding, now, staff.id)


async def setup_options(
    token: str, rp: wa.RelyingParty, binding: str, now: datetime
) -> dict[str, Any]:
    """Options for creating the first passkey through a set-up link."""
    link = await live_setup_link(token, now)
    return await _registration_options(link.staff, SETUP, rp, binding, now)


async def _verify_new_passkey(
    staff: StaffUser,
    credential: Any,
    ceremony: str,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    who: Actor,
) -> wa.NewCredential:
    try:
        return await verified_registration(credential, ceremony, rp, binding, now, staff.id)
    except CeremonyFailed as error:
        await record(StaffEvent.PASSKEY_ADD_FAILURE, who, now, reason=error.reason)
        if error.challenge_refused:
            raise ChallengeInvalid() from error
        raise StaffError("パスキーを登録できませんでした。もう一度お試しください。") from error


async def _store_passkey(staff: StaffUser, new: wa.NewCredential, now: datetime) -> StaffPasskey:
    count = await StaffPasskey.filter(staff_id=staff.id).count()
    try:
        return await StaffPasskey.create(
            staff=staff,
            credential_id=wa.encode(new.credential_id),
            public_key=new.public_key,
            sign_count=new.sign_count,
            name="パスキー" if count == 0 else f"パスキー（{count + 1}）",
            created_at=now,
        )
    except IntegrityError as error:
        raise StaffError("このパスキーはすでに登録されています。") from error


async def complete_setup(
    token: str, credential: Any, rp: wa.RelyingParty, binding: str, now: datetime, actor: Actor
) -> StaffUser:
    """Verify the first passkey, use up the link, and return the staff member to sign in."""
    link = await live_setup_link(token, now)
    staff: StaffUser = link.staff
    who = actor.as_staff(staff)
    new = await _verify_new_passkey(staff, credential, SETUP, rp, binding, now, who)
    async with in_transaction():
        used = await StaffSetupLink.filter(id=link.id, used_at=None).update(used_at=now)
        if used != 1:
            raise SetupLinkInvalid()
        passkey = await _store_passkey(staff, new, now)
    await record(StaffEvent.PASSKEY_ADD, who, now, passkey_id=passkey.id, via="setup_link")
    return staff


# Sign-in -------------------------------------------------------------------


async def sign_in_options(rp: wa.RelyingParty, binding: str, now: datetime) -> dict[str, Any]:
    """Options for signing in with any discoverable staff passkey."""
    return await issue_challenge(wa.authentication_options(rp), SIGN_IN, binding, now)


def _staff_refusal(staff: StaffUser) -> str | None:
    """Why this staff member may not sign in now, for the log (only active staff may)."""
    return None if staff.active else "inactive"


async def _staff_handle(staff: StaffUser, now: datetime) -> bytes:
    """The staff member's WebAuthn user handle, made with the account."""
    return wa.decode(staff.user_handle)


STAFF: Signer[StaffPasskey, StaffUser] = Signer(
    model=StaffPasskey,
    owner="staff",
    related="staff",
    refusal=_staff_refusal,
    user_handle=_staff_handle,
    as_actor=Actor.as_staff,
    counter_regression=StaffEvent.PASSKEY_COUNTER_REGRESSION,
    failed=StaffSignInFailed,
    unknown=StaffSignInFailed,
    cloned=partial(
        StaffSignInFailed,
        "このパスキーは安全のため使用できません。別のパスキーでログインしてこのパスキーを"
        "削除するか、管理者に登録用リンクの再送を依頼してください。",
    ),
)


async def sign_in(
    credential: Any, rp: wa.RelyingParty, binding: str, now: datetime, actor: Actor
) -> StaffUser:
    """Verify a staff passkey assertion; returns the staff member to start a session for."""
    passkey, staff = await verified_use(
        STAFF,
        credential,
        rp,
        binding,
        now,
        actor,
        ceremony=SIGN_IN,
        failure=StaffEvent.LOGIN_FAILURE,
    )
    staff.last_login_at = now
    await staff.save(update_fields=["last_login_at"])
    await record(StaffEvent.LOGIN_SUCCESS, actor.as_staff(staff), now, passkey_id=passkey.id)
    return staff


# A signed-in staff member's own passkeys -----------------------------------


def _require_recent_sign_in(session: StaffSession, now: datetime) -> None:
    if now - session.created_at > RECENT_SIGN_IN:
        raise RecentSignInRequired()


async def add_options(
    staff: StaffUser, session: StaffSession, rp: wa.RelyingParty, binding: str, now: datetime
) -> dict[str, Any]:
    """Options for adding another passkey (a second device), soon after signing in."""
    _require_recent_sign_in(session, now)
    return await _registration_options(staff, ADD, rp, binding, now)


async def add_passkey(
    staff: StaffUser,
    session: StaffSession,
    credential: Any,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    actor: Actor,
) -> StaffPasskey:
    """Verify and store another passkey of the signed-in staff member."""
    _require_recent_sign_in(session, now)
    new = await _verify_new_passkey(staff, credential, ADD, rp, binding, now, actor)
    passkey = await _store_passkey(staff, new, now)
    await record(StaffEvent.PASSKEY_ADD, actor, now, passkey_id=passkey.id, via="signed_in")
    return passkey


async def own_passkeys(staff_id: int) -> list[StaffPasskey]:
    """The staff member's passkeys, oldest first."""
    return await StaffPasskey.filter(staff_id=staff_id).order_by("created_at", "id")


async def remove_passkey(
    staff: StaffUser, session: StaffSession, passkey_id: int, now: datetime, actor: Actor
) -> None:
    """Remove one of the staff member's own passkeys (soon after signing in), never the last."""
    passkey = await StaffPasskey.filter(id=passkey_id, staff_id=staff.id).first()
    if passkey is None:
        raise NotFound("パスキーが見つかりません。")
    # As for adding (ASVS 7.5.1): a stolen, unlocked console must not strip the owner's keys.
    _require_recent_sign_in(session, now)
    if await StaffPasskey.filter(staff_id=staff.id).count() <= 1:
        raise StaffError("最後のパスキーは削除できません。先に別のパスキーを追加してください。")
    await passkey.delete()
    await record(StaffEvent.PASSKEY_REMOVE, actor, now, passkey_id=passkey_id)
