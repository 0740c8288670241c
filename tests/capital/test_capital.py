"""C3, B5: capital figures appear from the first July publication after registration."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.capital.service import visible_records
from server.members.access import Viewer
from server.members.models import MemberStatus
from tests.factories import make_account, make_member
from tests.helpers import login, page
from tests.statements.factories import make_capital

LAST_MINUTE_OF_JUNE_JST = datetime(2026, 6, 30, 14, 59, tzinfo=UTC)
FIRST_MINUTE_OF_JULY_JST = datetime(2026, 6, 30, 15, 0, tzinfo=UTC)


async def signed_in(client, registered_at: datetime):
    member = await make_member()
    await make_account(member, email="hanako@example.jp", registered_at=registered_at)
    await login(client, "hanako@example.jp")
    return member


async def test_registered_before_july_sees_this_julys_figures(client) -> None:
    member = await signed_in(client, LAST_MINUTE_OF_JUNE_JST)
    await make_capital(member, 2024, units=40, balance_yen=40_000)  # published July 2025
    await make_capital(member, 2025, units=50, balance_yen=50_000)  # published July 2026
    status, html = await page(client, "/capital")
    assert status == 200
    assert "<h1>出資金</h1>" in html
    assert "2025年度" in html and "50口" in html and "50,000円" in html
    assert "2026年<wbr>7月15日" in html  # a narrow line breaks after 年 only (issue 19)
    assert "2024年度" not in html and "40,000円" not in html


async def test_registered_in_july_waits_for_next_july(client) -> None:
    member = await signed_in(client, FIRST_MINUTE_OF_JULY_JST)
    await make_capital(member, 2025)
    status, html = await page(client, "/capital")
    assert status == 200
    assert "表示できる出資金の情報はまだありません" in html
    assert "マイページへのご登録が2026年7月1日のため、2027年7月の公表分から表示されます" in html
    assert "50,000円" not in html


async def test_publication_day_boundary(app) -> None:
    member = await make_member()
    await make_capital(member, 2026, published_on=date(2027, 7, 15))
    viewer = Viewer(member.id, LAST_MINUTE_OF_JUNE_JST, MemberStatus.ACTIVE, None)
    day_before = datetime(2027, 7, 14, 14, 59, tzinfo=UTC)  # 23:59 on 14 July in Japan
    assert await visible_records(viewer, day_before, 7) == []
    on_the_day = datetime(2027, 7, 14, 15, 0, tzinfo=UTC)
    assert [r.fiscal_year for r in await visible_records(viewer, on_the_day, 7)] == [2026]


async def test_newest_year_first(app) -> None:
    member = await make_member()
    for year in (2022, 2024, 2023):
        await make_capital(member, year)
    viewer = Viewer(member.id, datetime(2020, 1, 1, tzinfo=UTC), MemberStatus.ACTIVE, None)
    records = await visible_records(viewer, datetime(2026, 11, 28, tzinfo=UTC), 7)
    assert [r.fiscal_year for r in records] == [2024, 2023, 2022]
