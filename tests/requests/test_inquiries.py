"""Inquiries over HTTP: validation, the confirmation step, receipt, mail, history, replies."""

from __future__ import annotations

import re

import pytest

from server.app import create_app
from server.inquiries.models import Inquiry
from server.inquiries.service import InquiryInputError, reply_to_inquiry
from tests.factories import make_account
from tests.helpers import login, page, post_form

MESSAGE = "4月から高崎市立テスト中学校に異動しました。\n手続きをお願いします。"


async def _signed_in(client, email: str = "hanako@example.jp"):
    account = await make_account(email=email)
    await login(client, email)
    return account


async def test_workplace_link_preselects_the_category(client) -> None:
    await _signed_in(client)
    _, html = await page(client, "/inquiries/new?category=workplace")
    assert '<option value="workplace" selected>勤務先の変更</option>' in html
    _, html = await page(client, "/inquiries/new?category=nonsense")
    assert " selected>" not in html


async def test_confirm_then_send_gives_a_receipt_number_and_mails(client, mails, clock) -> None:
    member_account = await _signed_in(client)
    await mails.clear()  # the sign-in code is not what this test reads
    response = await post_form(
        client,
        "/inquiries/new",
        {"category": "workplace", "message": MESSAGE},
        token_from="/inquiries/new",
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "お問い合わせの確認" in html and "勤務先の変更" in html
    assert await Inquiry.all().count() == 0  # nothing is sent before the confirmation
    hidden = re.search(r'name="message" value="([^"]*)"', html)
    assert hidden is not None
    response = await post_form(
        client,
        "/inquiries/send",
        {"category": "workplace", "message": MESSAGE, "action": "send"},
        token_from="/inquiries/new",
    )
    assert response.status_code == 303
    inquiry = await Inquiry.get()
    assert response.headers["Location"] == f"/inquiries/{inquiry.id}?sent=1"
    assert inquiry.receipt_no == f"20261128-{inquiry.id:05d}"
    assert inquiry.message == MESSAGE
    _, html = await page(client, response.headers["Location"])
    assert "お問い合わせを受け付けました" in html and inquiry.receipt_no in html
    to_coop = await mails.to("info@Gmypage.jp")
    copy = await mails.to(member_account.email)
    assert len(to_coop) == 1 and len(copy) == 1
    assert inquiry.receipt_no in to_coop[0].subject
    assert "高崎市立テスト中学校" in to_coop[0].body
    assert inquiry.receipt_no in copy[0].body
    _, html = await page(client, "/inquiries")
    assert inquiry.receipt_no in html and "受付済" in html


async def test_edit_from_the_confirmation_refills_the_form(client) -> None:
    await _signed_in(client)
    response = await post_form(
        client,
        "/inquiries/send",
        {"category": "billing", "message": "11月分の請求について", "action": "edit"},
        token_from="/inquiries/new",
    )
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<option value="billing" selected>' in html
    assert "11月分の請求について</textarea>" in html
    assert await Inquiry.all().count() == 0


@pytest.mark.parametrize(
    ("category", "message", "expected"),
    [
        ("usage", "   ", "お問い合わせ内容を入力してください。"),
        ("", "質問です", "お問い合わせの種類を選んでください。"),
        ("lottery", "質問です", "お問い合わせの種類を選んでください。"),
        ("usage", "あ" * 2001, "2,000文字以内で入力してください（現在2,001文字）"),
    ],
)
async def test_invalid_inquiries_are_refused_with_the_form_refilled(
    client, category: str, message: str, expected: str
) -> None:
    await _signed_in(client)
    for path in ("/inquiries/new", "/inquiries/send"):
        response = await post_form(
            client,
            path,
            {"category": category, "message": message, "action": "send"},
            token_from="/inquiries/new",
        )
        html = await response.get_data(as_text=True)
        assert response.status_code == 400, path
        assert expected in html
    assert await Inquiry.all().count() == 0


async def test_exactly_2000_characters_are_accepted(client) -> None:
    await _signed_in(client)
    response = await post_form(
        client,
        "/inquiries/send",
        {"category": "other", "message": "あ" * 2000, "action": "send"},
        token_from="/inquiries/new",
    )
    assert response.status_code == 303


async def test_staff_reply_is_mailed_and_shown_in_the_history(client, settings, clock, mails):
    account = await _signed_in(client)
    await post_form(
        client,
        "/inquiries/send",
        {"category": "usage", "message": "パスキーの使い方を教えてください", "action": "send"},
        token_from="/inquiries/new",
    )
    inquiry = await Inquiry.get()
    await mails.clear()
    await reply_to_inquiry(
        inquiry.id, "設定画面から追加できます。", settings, clock.now, staff_id=7
    )
    _, html = await page(client, f"/inquiries/{inquiry.id}")
    assert "設定画面から追加できます。" in html and "回答済" in html
    replies = await mails.to(account.email)
    assert len(replies) == 1 and "設定画面から追加できます。" in replies[0].body
    with pytest.raises(InquiryInputError):
        await reply_to_inquiry(inquiry.id, "  ", settings, clock.now)


async def test_another_members_inquiry_is_404(app, client) -> None:
    await _signed_in(client, "hanako@example.jp")
    await post_form(
        client,
        "/inquiries/send",
        {"category": "other", "message": "私の問い合わせ", "action": "send"},
        token_from="/inquiries/new",
    )
    inquiry = await Inquiry.get()
    other = app.test_client()
    await make_account(email="taro@example.jp")
    await login(other, "taro@example.jp")
    status, html = await page(other, f"/inquiries/{inquiry.id}")
    assert status == 404 and "私の問い合わせ" not in html
    _, listing = await page(other, "/inquiries")
    assert inquiry.receipt_no not in listing
    status, _ = await page(client, f"/inquiries/{inquiry.id}")
    assert status == 200


def test_app_registers_the_inquiry_endpoint(settings) -> None:
    app = create_app(settings)
    assert "inquiries.index" in app.view_functions
