"""Every mail this feature sends, one function each, through the outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from server.config import Settings
from server.lib.formatting import jdate, jdatetime, yen
from server.mail.compose import enqueue_mail
from server.push.service import queue_member_notice


async def _enqueue(
    to: str, template: str, settings: Settings, now: datetime, /, **context: Any
) -> None:
    await enqueue_mail(to, template, settings, now, **context)


async def _push(member_id: int, key: str, title: str, body: str, url: str, now: datetime) -> None:
    """A push notice for members who chose change-request updates (topic change_requests)."""
    await queue_member_notice(member_id, "change_requests", key, title, body, url, now)


async def change_request_received(
    to: str, settings: Settings, now: datetime, *, expected_on: date, **ctx: Any
) -> None:
    """受付: the request, its values and the expected completion date."""
    await _enqueue(
        to, "change_request_received", settings, now, expected_on=jdate(expected_on), **ctx
    )


async def change_request_state(
    to: str, member_id: int, settings: Settings, now: datetime, **ctx: Any
) -> None:
    """A state change of a request (処理中, 反映済, 差戻し), by mail and push."""
    change = ctx["change"]
    expected_on = jdate(change.expected_on)
    await _enqueue(to, "change_request_state", settings, now, expected_on=expected_on, **ctx)
    await _push(
        member_id,
        f"change:{change.id}:{change.state.value}",
        "登録内容変更のお知らせ",
        f"{change.group_label}の変更申請が「{change.state_label}」になりました。",
        "/profile",
        now,
    )


async def email_change_code(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """The six-digit code, to the new address."""
    await _enqueue(to, "email_change_code", settings, now, **ctx)


async def email_in_use_notice(to: str, settings: Settings, now: datetime, *, owner_id: int) -> None:
    """To the owner of an address someone asked to change to: nothing changed (once an hour)."""
    hour = now.strftime("%Y%m%d%H")
    await enqueue_mail(
        to, "email_in_use", settings, now, dedupe_key=f"email-in-use:{owner_id}:{hour}"
    )


async def email_changed_notice(to: str, settings: Settings, now: datetime, **ctx: Any) -> None:
    """To the old address: the sign-in address was changed (at `now`)."""
    await _enqueue(to, "email_changed", settings, now, at=jdatetime(now), **ctx)


async def service_stopped(
    to: str, settings: Settings, now: datetime, *, fee: int, fee_with_tax: int, **ctx: Any
) -> None:
    """Confirmation that My Page was stopped, with the paper-statement fee."""
    await _enqueue(
        to, "service_stopped", settings, now, fee=yen(fee), fee_with_tax=yen(fee_with_tax), **ctx
    )
