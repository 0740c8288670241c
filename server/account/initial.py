"""Initial passwords (初期パスワード): issued by staff, printed on a letter, used once."""

from __future__ import annotations

import csv
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tortoise.transactions import in_transaction

from server.account.models import InitialPassword
from server.audit.events import AccountEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.config import Settings
from server.errors import DomainError
from server.lib.clock import to_jst
from server.lib.formatting import jdatetime
from server.lib.text import digits_only
from server.mail.compose import enqueue_mail
from server.members.models import Member, MemberStatus
from server.security import hash_password

# Upper-case letters and digits without look-alikes (0/O, 1/I), in groups of
# four: easy to read off a letter and to type, about 60 bits.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUPS = 3
GROUP_LENGTH = 4
CSV_COLUMNS = ["member_no", "name", "postal_code", "address", "initial_password", "expires_on"]


class IssueError(DomainError):
    """The request to issue initial passwords cannot be carried out."""


@dataclass(frozen=True)
class IssuedPassword:
    """One line of the letter: who, where, and the password (only in memory and the file)."""

    member: Member
    password: str
    expires_at: datetime
    # Whether the member's sign-in address was told of it (they have an account).
    owner_mailed: bool = False


def new_initial_password() -> str:
    """Like "K7QM-XP4R-2HBD"."""
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))
    return "-".join(groups)


def normalize_initial_password(text: str) -> str:
    """What the member typed, read the way the letter means it (case, width, dashes, spaces)."""
    value = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in value if ch.isalnum())


async def members_to_issue(member_nos: Sequence[str]) -> list[Member]:
    """The named members, or every member not withdrawn who has no My Page account yet."""
    if member_nos:
        wanted = [digits_only(n) for n in member_nos]
        members = await Member.filter(member_no__in=wanted).order_by("member_no")
        missing = sorted(set(wanted) - {m.member_no for m in members})
        if missing:
            raise IssueError(f"組合員番号が見つかりません: {', '.join(missing)}")
        withdrawn = [m.member_no for m in members if m.status == MemberStatus.WITHDRAWN]
        if withdrawn:
            raise IssueError(f"脱退済みの組合員には発行できません: {', '.join(withdrawn)}")
        return list(members)
    return list(
        await Member.filter(account=None)
        .exclude(status=MemberStatus.WITHDRAWN)
        .order_by("member_no")
    )


async def issue_initial_passwords(
    members: Sequence[Member],
    now: datetime,
    days: int,
    actor: Actor,
    settings: Settings,
    *,
    by_phone: bool = False,
) -> list[IssuedPassword]:
    """A new initial password per member; earlier unused ones stop working.

    The clerk (`actor.staff_id`) is kept on the row and the audit event, and a
    registered member is told at their current sign-in address: with this
    password anyone who has it can register again and take the account over,
    so its owner must hear of it (ASVS 6.4.4).
    """
    issued = []
    expires_at = now + timedelta(days=days)
    prepared = []
    for member in members:
        password = new_initial_password()
        password_hash = await hash_password(normalize_initial_password(password))
        prepared.append((member, password, password_hash))
    accounts = {
        account.member_id: account  # type: ignore[attr-defined]
        for account in await Account.filter(member_id__in=[m.id for m in members])
    }
    async with in_transaction():
        for member, password, password_hash in prepared:
            await InitialPassword.filter(member_id=member.id, used_at=None).delete()
            await InitialPassword.create(
                member_id=member.id,
                password_hash=password_hash,
                issued_at=now,
                expires_at=expires_at,
                issued_by_id=actor.staff_id,
            )
            account = accounts.get(member.id)
            if account is not None:
                await _tell_owner(account, member, now, settings, by_phone=by_phone)
            who = Actor(kind=actor.kind, member_id=member.id, staff_id=actor.staff_id)
            await record(
                AccountEvent.INITIAL_PASSWORD_ISSUE,
                who,
                now,
                expires_at=expires_at.isoformat(),
                issued_by=actor.staff_id,
                by_phone=by_phone,
                owner_mailed=account is not None,
            )
            issued.append(IssuedPassword(member, password, expires_at, account is not None))
    return issued


async def _tell_owner(
    account: Account, member: Member, now: datetime, settings: Settings, *, by_phone: bool
) -> None:
    # Never the password itself: only that one was issued, and whom to call.
    await enqueue_mail(
        account.email,
        "initial_password_issued",
        settings,
        now,
        name=member.name,
        member_no=member.member_no,
        at=jdatetime(now),
        by_phone=by_phone,
    )


def write_letter_csv(path: Path, issued: Sequence[IssuedPassword]) -> None:
    """The mail-merge file (UTF-8 with BOM for spreadsheet software), readable by its owner only."""
    with path.open("x", encoding="utf-8-sig", newline="") as handle:
        path.chmod(0o600)
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for item in issued:
            member = item.member
            writer.writerow(
                [
                    member.member_no,
                    member.name,
                    member.postal_code,
                    member.address,
                    item.password,
                    to_jst(item.expires_at).date().isoformat(),
                ]
            )
