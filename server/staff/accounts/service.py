"""Staff accounts: creating them, their set-up links, roles and turning them off."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.audit.events import StaffEvent
from server.audit.service import Actor, record
from server.config import Settings
from server.errors import DomainError, NotFound
from server.lib.text import AddressInvalid, valid_email
from server.mail.compose import enqueue_mail
from server.passkeys import webauthn as wa
from server.security import new_token, token_hash
from server.staff.models import StaffRole, StaffSetupLink, StaffUser
from server.staff.sessions import end_all_staff_sessions

MAX_NAME = 60


class StaffError(DomainError):
    """A staff-side rule was broken; the message is for the staff member."""


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
