"""Profile change requests: sent by the member, applied or sent back by staff."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from tortoise.transactions import in_transaction

from server.audit.events import RequestEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.config import Settings
from server.errors import DomainError, NotFound
from server.imports.models import OverrideSource
from server.imports.overrides import record_overrides
from server.lib.business_days import BusinessCalendar
from server.lib.clock import to_jst
from server.lib.formatting import jdate
from server.lib.kana import to_katakana
from server.lib.text import digits_only, nfkc
from server.members.models import Member
from server.pages.news import announce_change
from server.requests import notify
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState

EXPECTED_BUSINESS_DAYS = 3
OPEN_STATES = (ChangeState.RECEIVED, ChangeState.PROCESSING)
GROUP_FIELDS: dict[ChangeGroup, tuple[str, ...]] = {
    ChangeGroup.NAME: ("name", "name_kana"),
    ChangeGroup.ADDRESS: ("postal_code", "address"),
    ChangeGroup.PHONE: ("phone",),
}
GROUP_LABELS = {
    ChangeGroup.NAME: "お名前",
    ChangeGroup.ADDRESS: "ご住所",
    ChangeGroup.PHONE: "電話番号",
}
FIELD_LABELS = {
    "name": "お名前",
    "name_kana": "フリガナ",
    "postal_code": "郵便番号",
    "address": "住所",
    "phone": "電話番号",
}
STATE_LABELS = {
    ChangeState.RECEIVED: "受付済",
    ChangeState.PROCESSING: "処理中",
    ChangeState.APPLIED: "反映済",
    ChangeState.RETURNED: "差戻し",
    ChangeState.REPLACED: "新しい申請に置き換え",
}
MAX_NAME_PART = 30
MAX_ADDRESS = 300
MAX_COMMENT = 1000
_KANA = re.compile(r"^[ァ-ヺー・ 　]+$")


class ChangeInputError(DomainError):
    """The change form has values that cannot be accepted; `fields`: form field -> message."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class ChangeStateError(DomainError):
    """A staff action that does not fit the request's state."""

    status = 409


def business_calendar(settings: Settings) -> BusinessCalendar:
    """The co-op's working days (weekends, public holidays and closed days off)."""
    return BusinessCalendar.from_strings(settings.coop_closed_days)


def expected_completion(submitted: datetime, settings: Settings) -> date:
    """Three business days after the day (in Japan) the request was sent."""
    day = to_jst(submitted).date()
    return business_calendar(settings).add_business_days(day, EXPECTED_BUSINESS_DAYS)


def split_name(full: str) -> tuple[str, str]:
    """ "山田 花子" -> ("山田", "花子"); a name without a space is all surname."""
    parts = full.replace("　", " ").split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _name_part(form: dict[str, str], key: str, label: str, errors: dict[str, str]) -> str:
    part = " ".join(form.get(key, "").split())
    if not part:
        errors[key] = f"{label}を入力してください。"
    elif len(part) > MAX_NAME_PART:
        errors[key] = f"{label}は{MAX_NAME_PART}文字以内で入力してください。"
    return part


def _kana_part(form: dict[str, str], key: str, label: str, errors: dict[str, str]) -> str:
    part = " ".join(to_katakana(nfkc(form.get(key, ""))).split())
    if not part:
        errors[key] = f"{label}を入力してください。"
    elif len(part) > MAX_NAME_PART or not _KANA.match(part):
        errors[key] = f"{label}はカタカナ{MAX_NAME_PART}文字以内で入力してください。"
    return part


def clean_form(form: dict[str, str]) -> dict[str, str]:
    """Normalise and check the form; raises with every problem listed at once, per field."""
    errors: dict[str, str] = {}
    surname = _name_part(form, "surname", "姓", errors)
    given = _name_part(form, "given_name", "名", errors)
    surname_kana = _kana_part(form, "surname_kana", "セイ", errors)
    given_kana = _kana_part(form, "given_name_kana", "メイ", errors)
    postal = digits_only(form.get("postal_code", ""))
    if len(postal) != 7:
        errors["postal_code"] = "郵便番号は7桁の数字で入力してください（例：371-0026）。"
    address = " ".join(form.get("address", "").split())
    if not address:
        errors["address"] = "住所を入力してください。"
    elif len(address) > MAX_ADDRESS:
        errors["address"] = f"住所は{MAX_ADDRESS}文字以内で入力してください。"
    phone = nfkc(form.get("phone", "")).replace(" ", "").replace("ー", "-").replace("−", "-")
    phone_digits = digits_only(phone)
    if not re.fullmatch(r"[0-9-]+", phone or "x") or not (
        10 <= len(phone_digits) <= 11 and phone_digits.startswith("0")
    ):
        errors["phone"] = "電話番号は0から始まる10桁または11桁の数字で入力してください。"
    if errors:
        raise ChangeInputError("\n".join(errors.values()), errors)
    return {
        "name": f"{surname} {given}",
        "name_kana": f"{surname_kana} {given_kana}",
        "postal_code": f"{postal[:3]}-{postal[3:]}",
        "address": address,
        "phone": phone,
    }


def current_values(member: Member) -> dict[str, str]:
    """The member's registered values, as the form compares them."""
    return {field: str(getattr(member, field) or "") for field in FIELD_LABELS}


def comparable(field: str, value: str) -> str:
    """A value as the comparison sees it: 3710026 and ３７１－００２６ are the same postcode."""
    text = nfkc(value or "")
    if field in ("postal_code", "phone"):
        return digits_only(text)
    if field == "name_kana":
        text = to_katakana(text)
    return " ".join(text.split())


def changed_fields(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """The fields of `new` whose value really differs from `old` (after normalising)."""
    return [f for f in new if comparable(f, str(old.get(f, ""))) != comparable(f, str(new[f]))]


async def pending_values(member_id: int) -> dict[str, str]:
    """The new values of the member's open requests (what the form shows while they wait)."""
    values: dict[str, str] = {}
    for request in await ChangeRequest.filter(member_id=member_id, state__in=OPEN_STATES).order_by(
        "submitted_at", "id"
    ):
        values.update({f: str(v) for f, v in request.new_values.items()})
    return values


async def _account_email(member_id: int) -> str | None:
    account = await Account.filter(member_id=member_id).first()
    return account.email if account is not None else None


async def submit_changes(
    member: Member, form: dict[str, str], settings: Settings, now: datetime, actor: Actor
) -> list[ChangeRequest]:
    """Store one request per changed group (replacing an open one) and mail the receipt."""
    values = clean_form(form)
    current = current_values(member)
    expected_on = expected_completion(now, settings)
    created: list[ChangeRequest] = []
    async with in_transaction():
        pending = await pending_values(member.id)
        for group, fields in GROUP_FIELDS.items():
            new = {f: values[f] for f in fields}
            old = {f: current[f] for f in fields}
            # Unchanged, or the same as the request already waiting: nothing to send.
            if not changed_fields(old, new):
                continue
            if all(f in pending for f in fields) and not changed_fields(pending, new):
                continue
            note = ""
            for previous in await ChangeRequest.filter(
                member_id=member.id, group=group, state__in=OPEN_STATES
            ):
                previous.state = ChangeState.REPLACED
                previous.updated_at = now
                previous.note = "新しい申請に置き換えられました。"
                await previous.save(update_fields=["state", "updated_at", "note"])
                note = (
                    f"{jdate(previous.submitted_at)}に受け付けた{GROUP_LABELS[group]}の申請を、"
                    "この申請に置き換えました。"
                )
                await record(RequestEvent.CHANGE_REPLACE, actor, now, request=previous.id)
            request = await ChangeRequest.create(
                member_id=member.id,
                group=group,
                state=ChangeState.RECEIVED,
                current_values=old,
                new_values=new,
                submitted_at=now,
                expected_on=expected_on,
                updated_at=now,
                note=note,
            )
            await record(RequestEvent.CHANGE_SUBMIT, actor, now, request=request.id, group=group)
            created.append(request)
        if not created:
            raise ChangeInputError(
                "変更された項目がありません。変更したい項目を書き換えてから送信してください。"
            )
        email = await _account_email(member.id)
        if email:
            await notify.change_request_received(
                email,
                settings,
                now,
                name=member.name,
                changes=[view(r) for r in created],
                expected_on=expected_on,
            )
    return created


@dataclass(frozen=True)
class ChangeView:
    """A request as pages and mails show it."""

    id: int
    group: ChangeGroup
    group_label: str
    state: ChangeState
    state_label: str
    rows: list[tuple[str, str, str]]
    submitted_at: datetime
    expected_on: date
    updated_at: datetime
    staff_comment: str
    note: str

    @property
    def is_open(self) -> bool:
        """Still waiting for staff."""
        return self.state in OPEN_STATES


def view(request: ChangeRequest) -> ChangeView:
    """The labels and the old/new rows of a request."""
    return ChangeView(
        id=request.id,
        group=ChangeGroup(request.group),
        group_label=GROUP_LABELS[ChangeGroup(request.group)],
        state=ChangeState(request.state),
        state_label=STATE_LABELS[ChangeState(request.state)],
        # Only what really changes: never 「371-0026 → 371-0026」.
        rows=[
            (FIELD_LABELS[f], request.current_values.get(f, ""), request.new_values.get(f, ""))
            for f in GROUP_FIELDS[ChangeGroup(request.group)]
            if f in changed_fields(request.current_values, request.new_values)
        ],
        submitted_at=request.submitted_at,
        expected_on=request.expected_on,
        updated_at=request.updated_at,
        staff_comment=request.staff_comment,
        note=request.note,
    )


async def member_change_requests(member_id: int, limit: int = 20) -> list[ChangeView]:
    """The member's own recent requests, newest first (replaced ones left out)."""
    rows = (
        await ChangeRequest.filter(member_id=member_id)
        .exclude(state=ChangeState.REPLACED)
        .order_by("-submitted_at", "-id")
        .limit(limit)
    )
    return [view(r) for r in rows]


async def set_change_state(
    request_id: int,
    state: ChangeState,
    settings: Settings,
    now: datetime,
    *,
    staff_id: int | None = None,
    comment: str = "",
    actor: Actor | None = None,
) -> ChangeRequest:
    """Staff: mark a request 処理中, apply it to the member (反映済) or send it back (差戻し).

    `actor` is the staff console's request actor (with IP and browser); without
    it the events name only the staff id.
    """
    comment = comment.strip()
    allowed = {
        ChangeState.PROCESSING: (ChangeState.RECEIVED,),
        ChangeState.APPLIED: OPEN_STATES,
        ChangeState.RETURNED: OPEN_STATES,
    }
    if state not in allowed:
        raise ChangeStateError("その状態には変更できません。")
    if state == ChangeState.RETURNED and not comment:
        raise ChangeStateError("差戻しの理由をコメントに書いてください。")
    if len(comment) > MAX_COMMENT:
        raise ChangeStateError(f"コメントは{MAX_COMMENT}文字以内で書いてください。")
    by = actor or Actor(kind="staff", staff_id=staff_id)
    async with in_transaction():
        request = await ChangeRequest.filter(id=request_id).select_for_update().first()
        if request is None:
            raise NotFound("申請が見つかりません。")
        if request.state not in allowed[state]:
            raise ChangeStateError(
                f"この申請は「{STATE_LABELS[ChangeState(request.state)]}」のため、"
                f"「{STATE_LABELS[state]}」にはできません。"
            )
        member = await Member.get(id=request.member_id)  # type: ignore[attr-defined]
        if state == ChangeState.APPLIED:
            before = {field: getattr(member, field) for field in request.new_values}
            for field, value in request.new_values.items():
                setattr(member, field, value)
            await member.save(update_fields=[*request.new_values.keys(), "updated_at"])
            # Kept against members files until one carries the new values (反映済).
            await record_overrides(
                member.id,
                request.new_values,
                before,
                source=OverrideSource.CHANGE_REQUEST,
                staff_id=staff_id,
                now=now,
                change_request_id=request.id,
            )
            await record(
                RequestEvent.CHANGE_APPLY,
                replace(by, member_id=member.id),
                now,
                request=request.id,
                fields=sorted(request.new_values),
            )
        request.state = state
        request.updated_at = now
        request.staff_id = staff_id
        if comment:
            request.staff_comment = comment
        await request.save(update_fields=["state", "updated_at", "staff_id", "staff_comment"])
        await announce_change(member.id, request.id, state, now)
        await record(
            RequestEvent.CHANGE_STATE,
            replace(by, member_id=member.id),
            now,
            request=request.id,
            state=state,
        )
        email = await _account_email(member.id)
        if email:
            await notify.change_request_state(
                email, member.id, settings, now, name=member.name, change=view(request)
            )
    return request
