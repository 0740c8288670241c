"""B7: a withdrawing member is warned, and sign-in ends after the capital refund."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.audit.models import AuditEvent
from server.members.models import MemberStatus
from tests.factories import make_account, make_member
from tests.helpers import login, page

REFUND_DAY = date(2026, 11, 28)
LAST_MINUTE_OF_REFUND_DAY = datetime(2026, 11, 28, 14, 59, tzinfo=UTC)  # 23:59 in Japan
FIRST_MINUTE_AFTER = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
ENDED = (
    "脱退に伴う出資金の払い戻し（2026年11月28日）が済んだため、"
    "マイページはご利用いただけなくなりました。"
)


async def withdrawing(refund_on: date | None = REFUND_DAY, status=MemberStatus.WITHDRAWING):
    member = await make_member(status=status, capital_refund_on=refund_on)
    await make_account(member, email="hanako@example.jp")
    return member


async def test_withdrawing_member_sees_the_notice_on_member_pages(client) -> None:
    await withdrawing(date(2027, 7, 31))
    assert (await login(client, "hanako@example.jp")).status_code == 303
    for path in ("/", "/profile", "/statements", "/capital"):
        status, html = await page(client, path)
        assert status == 200
        assert "脱退のお手続き中です。" in html, path
        assert "出資金の返還日（2027年7月31日）までご利用いただけます" in html
        assert "返還日を過ぎると、ログインできなくなります。" in html
        assert "お早めにご確認のうえ保存してください" in html
        assert 'href="/statements.csv"' in html


async def test_sign_in_works_until_the_end_of_the_refund_day(client, clock) -> None:
    await withdrawing()
    clock.now = LAST_MINUTE_OF_REFUND_DAY
    assert (await login(client, "hanako@example.jp")).status_code == 303


async def test_sign_in_is_refused_after_the_refund_day_with_the_reason(client, clock) -> None:
    member = await withdrawing()
    clock.now = FIRST_MINUTE_AFTER
    response = await login(client, "hanako@example.jp")
    assert response.status_code == 403
    html = await response.get_data(as_text=True)
    assert ENDED in html
    assert '<label for="f-email">メールアドレス</label>' in html  # still the sign-in page
    assert (await client.get("/statements")).status_code == 303
    event = await AuditEvent.get(event="auth:login:failure", member_id=member.id)
    assert event.data == {"reason": "access_ended"}


async def test_wrong_password_of_a_former_member_says_nothing_more(client, clock) -> None:
    await withdrawing()
    clock.now = FIRST_MINUTE_AFTER
    response = await login(client, "hanako@example.jp", "wrong-password")
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "メールアドレスまたはパスワードが正しくありません。" in html
    assert "脱退" not in html


async def test_withdrawn_member_is_refused(client) -> None:
    await withdrawing(None, status=MemberStatus.WITHDRAWN)
    response = await login(client, "hanako@example.jp")
    assert response.status_code == 403
    assert "脱退のお手続きが完了しているため、マイページはご利用いただけません。" in (
        await response.get_data(as_text=True)
    )


async def test_a_session_open_at_midnight_ends_with_the_reason(client, clock) -> None:
    await withdrawing()
    clock.now = datetime(2026, 11, 28, 14, 50, tzinfo=UTC)
    assert (await login(client, "hanako@example.jp")).status_code == 303
    assert (await client.get("/statements")).status_code == 200
    clock.advance(minutes=15)
    status, html = await page(client, "/statements")
    assert status == 403
    assert ENDED in html
    assert "脱退のお手続き中です。" not in html
