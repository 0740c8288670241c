"""What staff do to one member from the member page: passwords, letters, blocks, withdrawal."""

from __future__ import annotations

from datetime import date, datetime

from tortoise.transactions import in_transaction

from server.account.models import InitialPassword
from server.account.service import (
    IssuedPassword,
    issue_initial_passwords,
    members_to_issue,
    normalize_initial_password,
)
from server.audit.events import MemberEvent
from server.audit.service import Actor, record
from server.auth.service import unblock
from server.auth.sessions import end_all_sessions
from server.card.revocation import revoke_member_certificates
from server.config import Settings
from server.errors import DomainError
from server.imports.models import OverrideSource
from server.imports.overrides import record_overrides
from server.lib.clock import to_jst
from server.lib.dates import parse_typed_date
from server.members.models import MemberStatus
from server.security import verify_password
from server.staff.members.service import MemberActionError, account_of, get_member

# A refund date further ahead than this is almost surely a typing mistake.
MAX_REFUND_YEARS_AHEAD = 5


class LetterRefused(DomainError):
    """The password sent for the letter is not the member's current initial password."""

    def __init__(self) -> None:
        super().__init__(
            "この初期パスワードでは案内状を作成できません。"
            "有効な初期パスワードではないか、その後に新しい初期パスワードが発行されています。"
        )


async def issue_password(
    member_id: int, now: datetime, settings: Settings, actor: Actor
) -> IssuedPassword:
    """A new initial password (the old one stops working); shown once, never stored."""
    member = await get_member(member_id)
    # The account feature's rules: not for withdrawn members.
    members = await members_to_issue([member.member_no])
    [issued] = await issue_initial_passwords(
        members, now, settings.initial_password_days, actor, settings, by_phone=True
    )
    await record(
        MemberEvent.INITIAL_PASSWORD_ISSUE,
        actor.about(member),
        now,
        expires_at=issued.expires_at.isoformat(),
    )
    return issued


def letter_form(password: str) -> str:
    """The password as printed: upper case in groups of four (K7QM-XP4R-2HBD)."""
    value = normalize_initial_password(password)
    return "-".join(value[i : i + 4] for i in range(0, len(value), 4))


async def letter_password(
    member_id: int, password: str, now: datetime, actor: Actor
) -> IssuedPassword:
    """The member's live initial password, only if `password` is it (no other text is printed)."""
    member = await get_member(member_id)
    initial = (
        await InitialPassword.filter(member_id=member.id, used_at=None, expires_at__gt=now)
        .order_by("-issued_at", "-id")
        .first()
    )
    ok = len(password) <= 64 and await verify_password(
        initial.password_hash if initial is not None else None,
        normalize_initial_password(password),
    )
    if initial is None or not ok:
        await record(MemberEvent.LETTER_REFUSED, actor.about(member), now)
        raise LetterRefused()
    await record(MemberEvent.LETTER_PRINT, actor.about(member), now)
    return IssuedPassword(member, letter_form(password), initial.expires_at)


async def unblock_member(member_id: int, now: datetime, actor: Actor) -> None:
    """Lift the member's sign-in block and forget counted failures."""
    member = await get_member(member_id)
    account = await account_of(member)
    who = actor.about(member, account)
    was_blocked = account.blocked_until is not None and now < account.blocked_until
    await unblock(account, now, who)
    await record(MemberEvent.UNBLOCK, who, now, was_blocked=was_blocked)


async def end_member_sessions(member_id: int, now: datetime, actor: Actor) -> int:
    """Sign the member out on every device; returns how many sessions ended."""
    member = await get_member(member_id)
    account = await account_of(member)
    ended = await end_all_sessions(account.id)
    await record(MemberEvent.SESSIONS_END, actor.about(member, account), now, ended=ended)
    return ended


async def revoke_member_cards(member_id: int, now: datetime, actor: Actor) -> int:
    """「組合員証を失効させる」: every card certificate of the member stops; returns how many."""
    member = await get_member(member_id)
    revoked = await revoke_member_certificates(member.id, now, "staff")
    await record(MemberEvent.CARD_REVOKE, actor.about(member), now, revoked=revoked)
    return revoked


def parse_refund_date(text: str, today: date) -> date:
    """The capital refund date typed by staff: a real date, today or later."""
    if not text.strip():
        raise MemberActionError("出資金の払い戻し日を入力してください。")
    refund_on = parse_typed_date(text) if len(text) <= 40 else None
    if refund_on is None:
        raise MemberActionError(
            "払い戻し日は「2027-07-31」や「2027年7月31日」のように、実在する日付を入力してください。"
        )
    if refund_on < today:
        raise MemberActionError(
            "払い戻し日に過去の日付は指定できません。今日以降の日付を入力してください。"
        )
    if refund_on.year > today.year + MAX_REFUND_YEARS_AHEAD:
        raise MemberActionError(
            f"払い戻し日が{MAX_REFUND_YEARS_AHEAD}年以上先になっています。日付を確認してください。"
        )
    return refund_on


def default_refund_date(today: date, refund_month: int) -> date:
    """The usual refund date: the end of the refund month (July), this year or next."""
    year = today.year
    candidate = _month_end(year, refund_month)
    if candidate < today:
        candidate = _month_end(year + 1, refund_month)
    return candidate


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


async def record_withdrawal(
    member_id: int, refund_text: str, confirmed: bool, now: datetime, actor: Actor
) -> bool:
    """Mark the member withdrawing with a refund date; True when only the date was corrected."""
    member = await get_member(member_id)
    if member.status == MemberStatus.WITHDRAWN:
        raise MemberActionError(
            "脱退のお手続きが完了している組合員です。払い戻し日は変更できません。"
        )
    refund_on = parse_refund_date(refund_text, to_jst(now).date())
    correction = member.status == MemberStatus.WITHDRAWING
    if not correction and not confirmed:
        # Access ends after the refund date: only with the signed form in hand.
        raise MemberActionError(
            "脱退届を受け付けたことを確認して、チェックを入れてから記録してください。"
        )
    previous = member.capital_refund_on
    previous_status = member.status
    member.status = MemberStatus.WITHDRAWING
    member.capital_refund_on = refund_on
    async with in_transaction():
        await member.save(update_fields=["status", "capital_refund_on", "updated_at"])
        # Kept against members files until one agrees (or says withdrawn).
        await record_overrides(
            member.id,
            {"status": member.status, "capital_refund_on": refund_on},
            {"status": previous_status, "capital_refund_on": previous},
            source=OverrideSource.WITHDRAWAL,
            staff_id=actor.staff_id,
            now=now,
        )
    await record(
        MemberEvent.WITHDRAWAL,
        actor.about(member),
        now,
        refund_on=refund_on.isoformat(),
        previous_status="withdrawing" if correction else "active",
        previous_refund_on=previous.isoformat() if previous else None,
    )
    return correction
