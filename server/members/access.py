"""Who may see what, and until when: statements, capital figures, access after withdrawal.

Pure rules on plain values, and `current_viewer`, the one way a member page
gets the signed-in member as a `Viewer`. The dates are Japan dates, because
members and the co-op count months and refund days in Japan time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from quart import g

from server.auth.models import AccountState
from server.errors import DomainError
from server.lib.clock import to_jst
from server.lib.formatting import jdate
from server.members.models import MemberStatus

# Capital figures are published once a year, after the general meeting in July.
CAPITAL_PUBLISH_MONTH = 7


class AccessEnded(DomainError):
    """The member left the co-op and may no longer use My Page; the message says why."""

    status = 403
    reason = "access_ended"


@dataclass(frozen=True)
class Viewer:
    """The signed-in member, as the member-data helpers need them (never another member)."""

    member_id: int
    registered_at: datetime
    status: MemberStatus
    capital_refund_on: date | None

    @property
    def registered_on(self) -> date:
        """The Japan date of the My Page registration."""
        return to_jst(self.registered_at).date()


def current_viewer() -> Viewer:
    """The signed-in member (the only one whose data a member page may read).

    Whether their access has ended was settled when the session was loaded
    (server.auth.sessions.load_session), for every page alike.
    """
    member = g.member
    return Viewer(
        member_id=member.id,
        registered_at=g.account.registered_at,
        status=member.status,
        capital_refund_on=member.capital_refund_on,
    )


def month_key(day: date) -> str:
    """2026-11 for any day in November 2026."""
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    """The billing month after `month` (YYYY-MM)."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def first_statement_month(viewer: Viewer) -> str:
    """Statements are visible from the billing after the month of registration."""
    return next_month(month_key(viewer.registered_on))


def first_capital_publication(viewer: Viewer, publish_month: int = CAPITAL_PUBLISH_MONTH) -> date:
    """First publication the member may see: this July if registered before July, else next."""
    registered = viewer.registered_on
    year = registered.year if registered.month < publish_month else registered.year + 1
    return date(year, publish_month, 1)


def access_ended_reason(
    status: str,
    refund_on: date | None,
    today: date,
    *,
    account_state: str = AccountState.ACTIVE,
    free_dial: str = "",
) -> str | None:
    """Why a member may no longer use My Page (withdrawn, refunded, stopped), or None.

    The one rule: the session load, every sign-in and the staff member page ask it.
    """
    phone = f"フリーダイヤル {free_dial} " if free_dial else "フリーダイヤル"
    if status == MemberStatus.WITHDRAWN:
        return (
            "脱退のお手続きが完了しているため、マイページはご利用いただけません。"
            f"ご不明な点は、{phone}までお問い合わせください。"
        )
    if status == MemberStatus.WITHDRAWING and refund_on is not None and today > refund_on:
        return (
            f"脱退に伴う出資金の払い戻し（{jdate(refund_on)}）が済んだため、"
            "マイページはご利用いただけなくなりました。"
            f"ご不明な点は、{phone}までお問い合わせください。"
        )
    if account_state == AccountState.STOPPED:
        return (
            "マイページのサービスを停止されているため、ご利用いただけません。"
            "もう一度ご利用になるには、新しい初期パスワードでの利用登録が必要です。"
            f"{phone}までお電話ください。"
        )
    return None


def withdrawal_deadline(status: str, refund_on: date | None) -> date | None:
    """For a withdrawing member: the last day of access (the refund date), else None."""
    if status == MemberStatus.WITHDRAWING:
        return refund_on
    return None
