"""Inquiries: categories, a message, a receipt number, history with replies."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from tortoise.transactions import in_transaction

from server.audit.events import RequestEvent
from server.audit.service import Actor, record
from server.auth.models import Account
from server.config import Settings
from server.errors import DomainError, NotFound
from server.inquiries import notify
from server.inquiries.models import Inquiry, InquiryCategory, InquiryReply, InquiryState
from server.lib.clock import to_jst
from server.members.models import Member
from server.pages.news import announce_answer

MAX_MESSAGE = 2000
MAX_REPLY = 4000
CATEGORY_LABELS: dict[InquiryCategory, str] = {
    InquiryCategory.WORKPLACE: "勤務先の変更",
    InquiryCategory.BILLING: "請求について",
    InquiryCategory.PROFILE: "登録内容について",
    InquiryCategory.CAPITAL: "出資金について",
    InquiryCategory.USAGE: "マイページの使い方",
    InquiryCategory.OTHER: "その他",
}
STATE_LABELS = {InquiryState.RECEIVED: "受付済", InquiryState.ANSWERED: "回答済"}


class InquiryInputError(DomainError):
    """The inquiry form cannot be sent as it is."""


@dataclass(frozen=True)
class Draft:
    """A checked inquiry, ready for the confirmation page."""

    category: InquiryCategory
    message: str

    @property
    def category_label(self) -> str:
        """The category in Japanese."""
        return CATEGORY_LABELS[self.category]


def category_from(value: str | None) -> InquiryCategory | None:
    """A known category code, or None (used to preselect from a link)."""
    try:
        return InquiryCategory(value or "")
    except ValueError:
        return None


def check_draft(category: str, message: str) -> Draft:
    """Check the form: a known category and 1 to 2,000 characters of message."""
    errors: list[str] = []
    chosen = category_from(category)
    if chosen is None:
        errors.append("お問い合わせの種類を選んでください。")
    text = message.replace("\r\n", "\n").strip()
    if not text:
        errors.append("お問い合わせ内容を入力してください。")
    elif len(text) > MAX_MESSAGE:
        errors.append(
            f"お問い合わせ内容は{MAX_MESSAGE:,}文字以内で入力してください（現在{len(text):,}文字）。"
        )
    if errors or chosen is None:
        raise InquiryInputError("\n".join(errors))
    return Draft(chosen, text)


async def send_inquiry(
    member: Member, draft: Draft, settings: Settings, now: datetime, actor: Actor
) -> Inquiry:
    """Store the inquiry with a receipt number, mail the co-op and copy the member."""
    account = await Account.filter(member_id=member.id).first()
    reply_to = account.email if account is not None else ""
    async with in_transaction():
        inquiry = await Inquiry.create(
            receipt_no="t" + secrets.token_hex(8),  # replaced below, once the id is known
            member_id=member.id,
            category=draft.category,
            message=draft.message,
            state=InquiryState.RECEIVED,
            reply_to=reply_to,
            created_at=now,
        )
        inquiry.receipt_no = f"{to_jst(now):%Y%m%d}-{inquiry.id:05d}"
        await inquiry.save(update_fields=["receipt_no"])
        context = {
            "member": member,
            "inquiry": inquiry,
            "category_label": draft.category_label,
        }
        await notify.inquiry_to_coop(settings, now, **context)
        if reply_to:
            await notify.inquiry_copy(reply_to, settings, now, **context)
        await record(
            RequestEvent.INQUIRY_SEND, actor, now, inquiry=inquiry.id, category=draft.category
        )
    return inquiry


async def member_inquiries(member_id: int) -> list[Inquiry]:
    """The member's own inquiries, newest first."""
    return await Inquiry.filter(member_id=member_id).order_by("-created_at", "-id")


async def member_inquiry(member_id: int, inquiry_id: int) -> tuple[Inquiry, list[InquiryReply]]:
    """One of the member's own inquiries with its replies; another member's is 404."""
    inquiry = await Inquiry.filter(id=inquiry_id, member_id=member_id).first()
    if inquiry is None:
        raise NotFound("お問い合わせが見つかりません。")
    replies = await InquiryReply.filter(inquiry_id=inquiry.id).order_by("created_at", "id")
    return inquiry, replies


async def reply_to_inquiry(
    inquiry_id: int,
    body: str,
    settings: Settings,
    now: datetime,
    *,
    staff_id: int | None = None,
    actor: Actor | None = None,
) -> InquiryReply:
    """Staff: answer an inquiry; the member gets it by mail and sees it in the history."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise InquiryInputError("回答の内容を入力してください。")
    if len(text) > MAX_REPLY:
        raise InquiryInputError(f"回答は{MAX_REPLY:,}文字以内で入力してください。")
    async with in_transaction():
        inquiry = await Inquiry.filter(id=inquiry_id).first()
        if inquiry is None:
            raise NotFound("お問い合わせが見つかりません。")
        reply = await InquiryReply.create(
            inquiry_id=inquiry.id, body=text, staff_id=staff_id, created_at=now
        )
        inquiry.state = InquiryState.ANSWERED
        inquiry.answered_at = now
        await inquiry.save(update_fields=["state", "answered_at"])
        member = await Member.get(id=inquiry.member_id)  # type: ignore[attr-defined]
        # Home's 新着 shows it (again, after an earlier answer) until the member opens it.
        await announce_answer(member.id, inquiry.id, inquiry.receipt_no, now)
        account = await Account.filter(member_id=member.id).first()
        to = account.email if account is not None else inquiry.reply_to
        if to:
            await notify.inquiry_reply(
                to,
                settings,
                now,
                member=member,
                inquiry=inquiry,
                reply=reply,
                category_label=CATEGORY_LABELS[InquiryCategory(inquiry.category)],
            )
        await record(
            RequestEvent.INQUIRY_REPLY,
            replace(actor or Actor(kind="staff", staff_id=staff_id), member_id=member.id),
            now,
            inquiry=inquiry.id,
        )
    return reply
