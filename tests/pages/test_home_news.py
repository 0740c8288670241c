"""Issue 19 item 1: home tells what is new, once, for this member only, without JavaScript."""

from __future__ import annotations

from datetime import date, timedelta

from server.audit.service import Actor
from server.inquiries.models import Inquiry, InquiryCategory, InquiryState
from server.inquiries.service import reply_to_inquiry
from server.members.models import MemberStatus
from server.pages.models import HomeNews
from server.requests.changes import set_change_state, submit_changes
from server.requests.models import ChangeState
from tests.factories import make_account, make_member
from tests.helpers import login, page
from tests.statements.factories import make_statement

NEWS_TITLE = '<h2 id="news-title">新着</h2>'


async def _inquiry(member, now, receipt: str) -> Inquiry:
    return await Inquiry.create(
        receipt_no=receipt,
        member_id=member.id,
        category=InquiryCategory.OTHER,
        message="ハガキの明細について教えてください。",
        state=InquiryState.RECEIVED,
        created_at=now,
    )


async def _member_with_news(settings, now, email: str, receipt: str):
    member = await make_member(
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        postal_code="371-0026",
        address="群馬県前橋市大手町1-1-1",
    )
    await make_account(member, email=email)
    await make_statement(member, "2026-10", [500])
    await make_statement(member, "2026-11", [1200, 800])
    inquiry = await _inquiry(member, now, receipt)
    await reply_to_inquiry(inquiry.id, "ご連絡ありがとうございます。", settings, now)
    form = {
        "surname": "山田",
        "given_name": "花子",
        "surname_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        "postal_code": "371-0026",
        "address": "群馬県前橋市大手町2-2-2",
        "phone": member.phone,
    }
    actor = Actor(kind="member", member_id=member.id)
    (change,) = await submit_changes(member, form, settings, now, actor)
    await set_change_state(change.id, ChangeState.APPLIED, settings, now, staff_id=None)
    return member, inquiry


async def test_home_lists_what_is_new_until_each_page_is_opened(client, settings, clock) -> None:
    _, inquiry = await _member_with_news(settings, clock.now, "hanako@example.jp", "R-0001")
    assert (await login(client, "hanako@example.jp")).status_code == 303

    status, html = await page(client, "/")
    assert status == 200
    assert NEWS_TITLE in html
    # At the top: before the member's name and the menu.
    assert html.index(NEWS_TITLE) < html.index('class="member-summary"')
    assert "新しい明細があります" in html
    assert "2026年11月分　ご請求額 2,000円" in html
    assert 'href="/statements/2026-11"' in html
    assert "お問い合わせに回答があります" in html
    assert f'href="/inquiries/{inquiry.id}"' in html
    assert "登録内容の変更を反映しました" in html

    assert (await client.get("/statements/2026-11")).status_code == 200
    _, html = await page(client, "/")
    assert "新しい明細があります" not in html
    assert "お問い合わせに回答があります" in html

    assert (await client.get(f"/inquiries/{inquiry.id}")).status_code == 200
    assert (await client.get("/profile/change")).status_code == 200
    _, html = await page(client, "/")
    assert NEWS_TITLE not in html
    assert "お問い合わせに回答があります" not in html
    assert "登録内容の変更を反映しました" not in html

    # A second reply to the same inquiry is new again.
    clock.now += timedelta(minutes=5)
    await reply_to_inquiry(inquiry.id, "追加のご案内です。", settings, clock.now)
    _, html = await page(client, "/")
    assert "お問い合わせに回答があります" in html


async def test_news_goes_after_the_set_days(client, settings, clock) -> None:
    await _member_with_news(settings, clock.now, "hanako@example.jp", "R-0001")
    assert (await login(client, "hanako@example.jp")).status_code == 303
    clock.now += timedelta(days=settings.home_news_days + 1)
    _, html = await page(client, "/")
    assert NEWS_TITLE not in html
    assert "新しい明細があります" not in html
    assert "お問い合わせに回答があります" not in html


async def test_another_members_news_never_shows(client, settings, clock) -> None:
    await _member_with_news(settings, clock.now, "hanako@example.jp", "R-HANAKO")
    other, other_inquiry = await _member_with_news(settings, clock.now, "taro@example.jp", "R-TARO")
    await make_statement(other, "2026-12", [99_999])
    assert (await login(client, "hanako@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert "R-HANAKO" in html
    assert "R-TARO" not in html
    assert f'href="/inquiries/{other_inquiry.id}"' not in html
    assert "99,999" not in html and "2026年12月分" not in html
    # Opening the other member's inquiry is a 404 and marks nothing seen for anyone.
    assert (await client.get(f"/inquiries/{other_inquiry.id}")).status_code == 404
    (row,) = await HomeNews.filter(ref=str(other_inquiry.id), kind="inquiry")
    assert row.member_id == other.id and row.seen_at is None


async def test_withdrawal_notice_is_among_the_news_once(client, settings, clock) -> None:
    member = await make_member(status=MemberStatus.WITHDRAWING, capital_refund_on=date(2027, 7, 31))
    await make_account(member, email="hanako@example.jp")
    assert (await login(client, "hanako@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert html.count("脱退のお手続き中です。") == 1
    assert html.index(NEWS_TITLE) < html.index("脱退のお手続き中です。")
    assert html.index("脱退のお手続き中です。") < html.index('class="member-summary"')


async def test_housekeeping_drops_old_news_without_bringing_it_back(
    client, settings, clock
) -> None:
    from server.maintenance import purge_expired

    _, inquiry = await _member_with_news(settings, clock.now, "hanako@example.jp", "R-0001")
    assert (await login(client, "hanako@example.jp")).status_code == 303
    assert (await client.get(f"/inquiries/{inquiry.id}")).status_code == 200
    assert await HomeNews.filter(kind="inquiry", seen_at__not_isnull=True).count() == 1
    clock.now += timedelta(days=settings.home_news_days - 1)
    await purge_expired(clock.now, settings)
    assert await HomeNews.filter(kind="inquiry").count() == 1  # still needed
    clock.now += timedelta(days=2)
    counts = await purge_expired(clock.now, settings)
    assert counts["home_news"] >= 1
    assert not await HomeNews.filter(kind="inquiry").exists()
    assert (await login(client, "hanako@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert "お問い合わせに回答があります" not in html
