"""`mypage demo`: the demo member has two years of statements and capital figures."""

from __future__ import annotations

from server.capital.models import CapitalRecord
from server.demo import DEMO_EMAIL, DEMO_MEMBER_NO, DEMO_PASSWORD, create_demo
from server.members.models import Member
from server.statements.models import StatementLine
from tests.helpers import login, page


async def test_demo_member_sees_a_full_my_page(client, clock) -> None:
    await create_demo(now=clock())
    demo = await Member.get(member_no=DEMO_MEMBER_NO)
    months = (
        await StatementLine.filter(member=demo).distinct().values_list("billing_month", flat=True)
    )
    assert len(set(months)) == 24
    descriptions = set(
        await StatementLine.filter(member=demo).values_list("description", flat=True)
    )
    assert "旅行積立金" in descriptions and "団体生命共済 掛金" in descriptions
    assert any(d.startswith("返品") for d in descriptions)
    assert await StatementLine.filter(member=demo, amount_yen__lt=0).exists()
    assert await CapitalRecord.filter(member=demo).count() == 5

    await login(client, DEMO_EMAIL, DEMO_PASSWORD)
    _, html = await page(client, "/statements")
    assert html.count('<a href="/statements/') == 24
    assert "2026年11月分" in html and "2024年12月分" in html
    _, capital = await page(client, "/capital")
    # Registered in November 2024: from the July 2025 publication (fiscal 2024) on.
    assert "2025年度" in capital and "2024年度" in capital and "2023年度" not in capital


async def test_bulk_members_get_one_month_each(app, clock) -> None:
    await create_demo(extra_members=5, now=clock())
    bulk = await Member.filter(member_no__startswith="2").values_list("id", flat=True)
    assert len(bulk) == 5
    for member_id in bulk:
        lines = await StatementLine.filter(member_id=member_id)
        assert len(lines) == 8
        assert {line.billing_month for line in lines} == {"2026-11"}
