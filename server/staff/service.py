"""Staff accounts and their passkey-only sign-in: set-up links, ceremonies, roles (E7)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.audit.events import StaffEvent
from server.audit.service import Actor, record
from server.config import Settings
from server.errors import DomainError, NotFound
from server.lib.text import AddressInvalid, valid_email
from server.mail.compose import enqueue_mail
from server.passkeys import webauthn as wa
from server.passkeys.challenges import (
    CeremonyFailed,
    ChallengeInvalid,
    issue_challenge,
    used_assertion,
    verified_registration,
)
from server.security import new_token, token_hash
from server.staff.models import StaffPasskey, StaffRole, StaffSession, StaffSetupLink, StaffUser
from server.staff.sessions import end_all_staff_sessions

SETUP = "staff_setup"
ADD = "staff_add"
SIGN_IN = "staff_authentication"
RECENT_SIGN_IN = timedelta(minutes=5)
MAX_PASSKEYS = 10
MAX_NAME = 60

SIGN_IN_FAILED = (
    "パスキーでログインできませんでした。職員用に登録したパスキーでもう一度お試しください。"
    "パスキーを失くした場合は、管理者に登録用リンクの再送を依頼してください。"
)


class StaffError(DomainError):
    """A staff-side rule was broken; the message is for the staff member."""


class StaffSignInFailed(StaffError):
    """Sign-in refused: unknown passkey, inactive staff, failed verification."""

    def __init__(self) -> None:
        super().__init__(SIGN_IN_FAILED)


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


def check_name(text: str) -> str:
    """A staff member's display name: 1 to 60 characters."""
    name = " ".join(text.split())
    if not name:
        raise StaffError("氏名を入力してください。")
    if len(name) > MAX_NAME:
        raise StaffError(f"氏名は{MAX_NAME}文字以内で入力してください。")
    return name


def check_role(text: str) -> StaffRole:
    """operator or admin."""
    try:
        return StaffRole(text)
    except ValueError:
        raise StaffError("権限は「担当者」か「管理者」を選んでください。") from None


# Accounts -----------------------------------------------------------------


async def create_staff(
    email: str, name: str, role: str, now: datetime, actor: Actor, settings: Settings
) -> tuple[StaffUser, str]:
    """Create a staff account and mail its one-time passkey set-up link; returns the link."""
    try:
        address = valid_email(email)
    except AddressInvalid as error:
        raise StaffError(error.message) from None
    clean_name, clean_role = check_name(name), check_role(role)
    if await StaffUser.filter(email=address).exists():
        raise StaffError("このメールアドレスの職員アカウントはすでにあります。")
    try:
        staff = await StaffUser.create(
            email=address,
            name=clean_name,
            role=clean_role,
            user_handle=wa.encode(secrets.token_bytes(32)),
            created_at=now,
        )
    except IntegrityError as error:
        raise StaffError("このメールアドレスの職員アカウントはすでにあります。") from error
    await record(
        StaffEvent.ACCOUNT_CREATE, actor, now, created_staff_id=staff.id, role=str(clean_role)
    )
    url = await send_setup_link(staff, now, actor, settings)
    return staff, url


async def send_setup_link(staff: StaffUser, now: datetime, actor: Actor, settings: Settings) -> str:
    """A new one-time set-up link (older unused ones die), mailed to the staff member."""
    token = new_token()
    hours = settings.staff_setup_link_hours
    async with in_transaction():
        await StaffSetupLink.filter(staff_id=staff.id, used_at=None).delete()
        await StaffSetupLink.create(
            token_hash=token_hash(token),
            staff=staff,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
        url = f"{settings.staff_url}/staff/setup/{token}"
        await enqueue_mail(
            staff.email,
            "staff_setup",
            settings,
            now,
            expires_at=now + timedelta(hours=hours),
            name=staff.name,
            url=url,
            hours=hours,
        )
    await record(StaffEvent.SETUP_LINK_SEND, actor, now, target_staff_id=staff.id)
    return url


async def all_staff() -> list[StaffUser]:
    """Every staff account, active ones first, by name."""
    return await StaffUser.all().order_by("-active", "name", "id")


async def staff_by_id(staff_id: int) -> StaffUser:
    """One staff account, or 404."""
    staff = await StaffUser.filter(id=staff_id).first()
    if staff is None:
        raise NotFound("職員アカウントが見つかりません。")
    return staff


async def _other_active_admins(staff_id: int) -> int:
    return await StaffUser.filter(role=StaffRole.ADMIN, active=True).exclude(id=staff_id).count()


async def update_staff(
    staff_id: int, *, role: str, active: bool, by: StaffUser, now: datetime, actor: Actor
) -> StaffUser:
    """Change a staff member's role or turn the account off (its sessions end); audited."""
    staff = await staff_by_id(staff_id)
    new_role = check_role(role)
    if staff.id == by.id and (not active or new_role != staff.role):
        raise StaffError("自分自身の権限や利用状態は変更できません。別の管理者に依頼してください。")
    losing_admin = staff.role == StaffRole.ADMIN and (new_role != StaffRole.ADMIN or not active)
    if losing_admin and staff.active and await _other_active_admins(staff.id) == 0:
        raise StaffError("管理者が一人もいなくなるため、変更できません。")
    changes: dict[str, object] = {}
    if new_role != staff.role:
        changes["role"] = str(new_role)
    if active != staff.active:
        changes["active"] = active
    if not changes:
        return staff
    staff.role, staff.active = new_role, active
    await staff.save(update_fields=["role", "active"])
    if not active:
        await end_all_staff_sessions(staff.id)
    await record(StaffEvent.ACCOUNT_UPDATE, actor, now, target_staff_id=staff.id, **changes)
    return staff


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


async def sign_in(
    credential: Any, rp: wa.RelyingParty, binding: str, now: datetime, actor: Actor
) -> StaffUser:
    """Verify a staff passkey assertion; returns the staff member to start a session for."""
    try:
        parsed, challenge = await used_assertion(credential, SIGN_IN, binding, now)
    except CeremonyFailed as error:
        await record(StaffEvent.LOGIN_FAILURE, actor, now, reason=error.reason)
        raise (ChallengeInvalid() if error.challenge_refused else StaffSignInFailed()) from error
    passkey = (
        await StaffPasskey.filter(credential_id=wa.encode(parsed.raw_id))
        .select_related("staff")
        .first()
    )
    if passkey is None:
        await record(StaffEvent.LOGIN_FAILURE, actor, now, reason="unknown_credential")
        raise StaffSignInFailed()
    staff: StaffUser = passkey.staff
    who = actor.as_staff(staff)
    handle = parsed.response.user_handle
    if not staff.active or (handle is not None and handle != wa.decode(staff.user_handle)):
        reason = "inactive" if not staff.active else "user_handle_mismatch"
        await record(StaffEvent.LOGIN_FAILURE, who, now, reason=reason)
        raise StaffSignInFailed()
    try:
        assertion = wa.verify_authentication(
            rp,
            parsed,
            challenge,
            public_key=bytes(passkey.public_key),
            stored_sign_count=passkey.sign_count,
        )
    except wa.PasskeyError as error:
        await record(StaffEvent.LOGIN_FAILURE, who, now, reason=error.reason[:200])
        raise StaffSignInFailed() from error
    await StaffPasskey.filter(id=passkey.id).update(
        sign_count=assertion.sign_count, last_used_at=now
    )
    staff.last_login_at = now
    await staff.save(update_fields=["last_login_at"])
    await record(StaffEvent.LOGIN_SUCCESS, who, now, passkey_id=passkey.id)
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


async def setup_link_for(
    email: str, now: datetime, actor: Actor, settings: Settings
) -> tuple[StaffUser, str]:
    """A new set-up link for an existing, active staff account (`mypage staff link`).

    For the day MYPAGE_STAFF_BASE_URL is turned on: passkeys are bound to
    the old host, so every clerk registers a new one, admins included.
    """
    try:
        address = valid_email(email)
    except AddressInvalid as error:
        raise StaffError(error.message) from None
    staff = await StaffUser.filter(email=address).first()
    if staff is None:
        raise StaffError("このメールアドレスの職員アカウントはありません。")
    if not staff.active:
        raise StaffError("利用停止中の職員にはリンクを送れません。先に利用を再開してください。")
    return staff, await send_setup_link(staff, now, actor, settings)
