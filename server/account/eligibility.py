"""Who may register, and from when: the checks behind 利用登録's first step.

The member number, initial password and birth date must match a member whose
access has not ended; a member who stopped the service needs an initial
password issued after the stop; and registration opens a number of business
days after joining.
"""

from __future__ import annotations

from datetime import date

from server.account.models import InitialPassword
from server.auth.models import Account, AccountState
from server.config import Settings
from server.lib.business_days import BusinessCalendar
from server.members.access import access_ended_reason
from server.members.models import Member
from server.requests.models import ServiceStop


def refused_message(settings: Settings) -> str:
    """What a refused member reads: what to check and whom to phone."""
    return (
        "入力された内容では登録できません。組合員番号・初期パスワード・生年月日を"
        "ご確認ください。初期パスワードがお手元にない場合、有効期限が切れた場合、"
        "または確認しても登録できない場合は、お手数ですが"
        f"{settings.coop_name}（フリーダイヤル {settings.coop_free_dial}）までお電話ください。"
    )


def registration_opens_on(joined_on: date, settings: Settings) -> date:
    """The first day a member who joined on `joined_on` may register (N business days later)."""
    calendar = BusinessCalendar.from_strings(settings.coop_closed_days)
    return calendar.add_business_days(joined_on, settings.registration_delay_business_days)


def membership_ended(member: Member, today: date) -> bool:
    """True once the member may no longer use My Page (left the co-op, refund paid)."""
    # The account's state is left out: a stopped member may come back with a
    # new initial password (refusal_reason checks it), a former member may not.
    return access_ended_reason(member.status, member.capital_refund_on, today) is not None


async def refusal_reason(
    member: Member | None,
    password_ok: bool,
    born: date,
    initial: InitialPassword | None,
    today: date,
) -> str | None:
    """Why this member may not register with this initial password, or None if they may."""
    if member is None:
        return "unknown"
    if not password_ok:
        return "initial_password"
    if member.birth_date != born:
        return "birth_date"
    if membership_ended(member, today):
        return "withdrawn"
    account = await Account.filter(member_id=member.id).first()
    if account is not None and account.state == AccountState.STOPPED:
        # A member who stopped the service comes back only with an initial
        # password the co-op issued after the stop.
        stop = await ServiceStop.filter(account_id=account.id).order_by("-stopped_at").first()
        if initial is None or stop is None or initial.issued_at <= stop.stopped_at:
            return "stopped"
    return None
