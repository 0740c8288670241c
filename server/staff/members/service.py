"""The staff member page: a member as phone support sees them (actions in actions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.account.models import InitialPassword
from server.audit.events import MemberEvent
from server.audit.models import AuditEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState, Session
from server.errors import DomainError, NotFound
from server.lib.clock import to_jst
from server.lib.useragent import member_device
from server.members.access import access_ended_reason
from server.members.models import Member, MemberStatus
from server.passkeys.models import Passkey
from server.push.models import PushSubscription
from server.settings.sections import history_label

HISTORY_LIMIT = 20
# Events of signing in, as the access log names them; labels in the staff's words.
SIGN_IN_EVENTS: dict[str, str] = {
    "auth:login:success": "ログイン",
    "auth:login:password_ok": "パスワードの確認（認証コードの前）",
    "account:login_code:capped": "認証コードの送信制限（1時間の上限）",
    "account:code:checks_stopped": "認証コードの確認停止（誤りが続いたため）",
    "auth:login:failure": "ログインの失敗",
    "auth:login:blocked": "ロック中のログイン（拒否）",
    "auth:account:block": "ロック（失敗が続いたため）",
    "auth:account:unblock": "ロック解除",
    "auth:session:logout": "ログアウト",
    "auth:session:end_others": "ほかの端末をログアウト",
    "passkey:login:failure": "パスキーでのログインの失敗",
    "account:login_code:sent": "認証コードの送信",
    "account:login_code:success": "認証コードの確認",
    "account:code:failure": "認証コードの誤り",
    "account:password_reset:complete": "パスワードの再設定",
    "account:lockdown:lost_device": "端末をなくしたときの手続き",
}
FAILURE_EVENTS = frozenset(
    {
        "auth:login:failure",
        "auth:login:blocked",
        "passkey:login:failure",
        "account:code:failure",
        "account:code:checks_stopped",
    }
)
FAILURE_REASONS = {
    "password": "パスワード違い",
    "access_ended": "脱退後の利用",
    "unknown_or_unusable": "利用できないアカウント",
}
STATUS_LABELS = {
    MemberStatus.ACTIVE: "在籍",
    MemberStatus.WITHDRAWING: "脱退手続き中",
    MemberStatus.WITHDRAWN: "脱退済み",
}


class MemberNotFound(NotFound):
    """No member with this id."""

    def __init__(self) -> None:
        super().__init__("この組合員は見つかりません。検索からやり直してください。")


class MemberActionError(DomainError):
    """A staff action on a member cannot be carried out; nothing was changed."""


@dataclass(frozen=True)
class HistoryRow:
    """One sign-in event of the member, as the member page lists it."""

    at: datetime
    label: str
    detail: str
    failure: bool
    device: str
    ip: str


@dataclass(frozen=True)
class MemberPage:
    """Everything the member page shows, loaded in a handful of queries."""

    member: Member
    account: Account | None
    account_state: str
    blocked_until: datetime | None
    live_sessions: int
    initial_password: InitialPassword | None
    initial_password_state: str
    access_ended: str | None
    history: list[HistoryRow]
    passkeys: list[Passkey]
    push_devices: list[PushSubscription]

    @property
    def status_label(self) -> str:
        """在籍 / 脱退手続き中 / 脱退済み."""
        return status_label(self.member.status)

    @property
    def can_issue(self) -> bool:
        """Initial passwords are never issued to withdrawn members."""
        return self.member.status != MemberStatus.WITHDRAWN


def status_label(status: str) -> str:
    """The member's status in the office's words."""
    return STATUS_LABELS.get(MemberStatus(status), status)


def account_state(account: Account | None, now: datetime) -> tuple[str, datetime | None]:
    """未登録 / 利用中 / ロック中 / 利用停止, with the end of a block that is still on."""
    if account is None:
        return "未登録", None
    if account.state == AccountState.STOPPED:
        return "利用停止", None
    if account.blocked_until is not None and now < account.blocked_until:
        return "ロック中", account.blocked_until
    return "利用中", None


def initial_password_state(initial: InitialPassword | None, now: datetime) -> str:
    """Whether the last initial password issued can still be used."""
    if initial is None:
        return "未発行"
    if initial.used_at is not None:
        return "使用済み"
    if now >= initial.expires_at:
        return "有効期限切れ"
    return "有効"


def _history_row(event: AuditEvent) -> HistoryRow:
    data: dict[str, Any] = event.data or {}
    if event.event == "auth:login:success":
        label = history_label(event.event, data)
    else:
        label = SIGN_IN_EVENTS.get(event.event, event.event)
    detail = ""
    if "reason" in data:
        detail = FAILURE_REASONS.get(str(data["reason"]), str(data["reason"]))
    if "failures" in data:
        detail = f"{detail}（連続{data['failures']}回目）"
    if event.actor == "staff":
        detail = "職員による操作"
    return HistoryRow(
        at=event.at,
        label=label,
        detail=detail,
        failure=event.event in FAILURE_EVENTS,
        device=member_device(event.user_agent) if event.user_agent else "",
        ip=event.ip,
    )


async def get_member(member_id: int) -> Member:
    """The member with this id, or a 404."""
    member = await Member.filter(id=member_id).first()
    if member is None:
        raise MemberNotFound()
    return member


async def member_page(member_id: int, now: datetime) -> MemberPage:
    """The member's data, account, sign-in history, passkeys and push devices."""
    member = await get_member(member_id)
    account = await Account.filter(member_id=member.id).first()
    state, blocked_until = account_state(account, now)
    initial = (
        await InitialPassword.filter(member_id=member.id).order_by("-issued_at", "-id").first()
    )
    events = (
        await AuditEvent.filter(member_id=member.id, event__in=list(SIGN_IN_EVENTS))
        .order_by("-at", "-id")
        .limit(HISTORY_LIMIT)
    )
    live_sessions = 0
    passkeys: list[Passkey] = []
    if account is not None:
        live_sessions = await Session.filter(account_id=account.id, expires_at__gt=now).count()
        passkeys = list(await Passkey.filter(account_id=account.id).order_by("created_at"))
    devices = await PushSubscription.filter(member_id=member.id).order_by("created_at")
    return MemberPage(
        member=member,
        account=account,
        account_state=state,
        blocked_until=blocked_until,
        live_sessions=live_sessions,
        initial_password=initial,
        initial_password_state=initial_password_state(initial, now),
        access_ended=access_ended_reason(
            member.status,
            member.capital_refund_on,
            to_jst(now).date(),
            account_state=account.state if account is not None else AccountState.ACTIVE,
        ),
        history=[_history_row(event) for event in events],
        passkeys=passkeys,
        push_devices=list(devices),
    )


async def view_member(member_id: int, now: datetime, actor: Actor) -> MemberPage:
    """The member page, recorded in the access log as a staff view of the member's data."""
    page = await member_page(member_id, now)
    await record(MemberEvent.VIEW, actor.about(page.member, page.account), now)
    return page


async def account_of(member: Member) -> Account:
    """The member's My Page account; refused when they have not registered."""
    account = await Account.filter(member_id=member.id).first()
    if account is None:
        raise MemberActionError(
            "この組合員はマイページに登録していません（アカウントがありません）。"
        )
    return account
