"""Home's 新着 rows, written when things happen: imports, later events, one query per home."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from server.audit.service import Actor
from server.imports.plan import Kind
from server.imports.service import import_file
from server.pages.models import HomeNews
from server.requests.changes import set_change_state, submit_changes
from server.requests.models import ChangeState
from tests.factories import make_account, make_member
from tests.helpers import login, page

OPERATOR = Actor(kind="operator", user_agent="test")
HEADER = "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"


def statements_file(*lines: tuple[str, str, int, int]) -> bytes:
    """(member_no, month, line_no, amount) -> a statements file, billed on the 16th."""
    rows = [
        f"{no},{month},{month}-16,{line},{month}-02,文具 {line},1,{amount}\n"
        for no, month, line, amount in lines
    ]
    return (HEADER + "".join(rows)).encode()


async def run_import(data: bytes, clock) -> None:
    await import_file(Kind.STATEMENTS, data, source="test.csv", actor=OPERATOR, now=clock())


async def test_import_announces_the_month_to_the_imported_members_only(
    app, client, settings, clock
) -> None:
    hanako = await make_member(member_no="40000001")
    taro = await make_member(member_no="40000002")
    jiro = await make_member(member_no="40000003")
    await make_account(hanako, email="hanako@example.jp")
    await make_account(jiro, email="jiro@example.jp")
    await run_import(
        statements_file(
            ("40000001", "2026-11", 1, 1_200_000),
            ("40000001", "2026-11", 2, 800),
            ("40000002", "2026-11", 1, -1_234_567),
        ),
        clock,
    )
    rows = sorted(await HomeNews.filter(kind="statement").values_list("member_id", "ref", "detail"))
    assert rows == [
        (hanako.id, "2026-11", "2026年11月分　ご請求額 1,200,800円"),
        (taro.id, "2026-11", "2026年11月分　ご請求額 -1,234,567円"),
    ]

    # Jiro was in no file: nothing new, and never another member's total.
    assert (await login(client, "jiro@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert "新しい明細があります" not in html
    assert "1,200,800" not in html and "1,234,567" not in html
    # Opening nothing of his own marks nobody's rows.
    assert (await client.get("/statements/2026-11")).status_code == 404
    assert await HomeNews.filter(kind="statement", seen_at__not_isnull=True).count() == 0

    other = app.test_client()
    assert (await login(other, "hanako@example.jp")).status_code == 303
    _, html = await page(other, "/")
    assert "2026年11月分　ご請求額 1,200,800円" in html
    assert "1,234,567" not in html
    assert (await other.get("/statements/2026-11")).status_code == 200
    _, html = await page(other, "/")
    assert "新しい明細があります" not in html

    # The same file again changes nothing: nothing new either.
    await run_import(
        statements_file(
            ("40000001", "2026-11", 1, 1_200_000),
            ("40000001", "2026-11", 2, 800),
            ("40000002", "2026-11", 1, -1_234_567),
        ),
        clock,
    )
    _, html = await page(other, "/")
    assert "新しい明細があります" not in html

    # An older month arriving later is not news: the newest month stays the one shown.
    await run_import(statements_file(("40000001", "2026-10", 1, 500)), clock)
    _, html = await page(other, "/")
    assert "新しい明細があります" not in html

    # A corrected month is announced again, with its new total.
    await run_import(
        statements_file(("40000001", "2026-11", 1, 1_200_000), ("40000001", "2026-11", 2, 900)),
        clock,
    )
    _, html = await page(other, "/")
    assert "2026年11月分　ご請求額 1,200,900円" in html
    # Taro's row was not touched by Hanako's correction.
    assert await HomeNews.filter(member_id=taro.id, kind="statement").count() == 1


async def test_a_newer_month_replaces_the_older_one_until_opened(client, settings, clock) -> None:
    member = await make_member(member_no="40000001")
    await make_account(member, email="hanako@example.jp")
    await run_import(statements_file(("40000001", "2026-10", 1, 500)), clock)
    await run_import(statements_file(("40000001", "2026-11", 1, 700)), clock)
    assert (await login(client, "hanako@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert html.count("新しい明細があります") == 1
    assert "2026年11月分　ご請求額 700円" in html
    # Opening the newest month settles the older one too (it never comes back).
    assert (await client.get("/statements/2026-11")).status_code == 200
    _, html = await page(client, "/")
    assert "新しい明細があります" not in html


async def test_statements_from_before_a_new_registration_are_not_news(
    client, settings, clock
) -> None:
    member = await make_member(member_no="40000001")
    # Registered (again) in November: statements show from December's on.
    await make_account(member, email="hanako@example.jp", registered_at=clock.now)
    await run_import(statements_file(("40000001", "2026-11", 1, 700)), clock)
    assert await HomeNews.filter(member_id=member.id, kind="statement").exists()
    assert (await login(client, "hanako@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert "新しい明細があります" not in html


def address_change(member) -> dict[str, str]:
    """The change form of 山田 花子 moving to 大手町2-2-2 (only the address differs)."""
    return {
        "surname": "山田",
        "given_name": "花子",
        "surname_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        "postal_code": member.postal_code,
        "address": "群馬県前橋市大手町2-2-2",
        "phone": member.phone,
    }


async def _changed_member(settings, clock):
    member = await make_member(name="山田 花子", name_kana="ヤマダ ハナコ")
    await make_account(member, email="hanako@example.jp")
    actor = Actor(kind="member", member_id=member.id)
    return member, address_change(member), actor


async def test_a_change_sent_back_then_applied_is_announced_each_time(
    client, settings, clock
) -> None:
    member, form, actor = await _changed_member(settings, clock)
    (first,) = await submit_changes(member, form, settings, clock.now, actor)
    comment = "住所の番地をご確認ください。"
    await set_change_state(first.id, ChangeState.RETURNED, settings, clock.now, comment=comment)
    assert (await login(client, "hanako@example.jp")).status_code == 303
    _, html = await page(client, "/")
    assert "登録内容の変更申請について、生協からのご連絡があります" in html
    assert (await client.get("/profile/change")).status_code == 200
    _, html = await page(client, "/")
    assert "生協からのご連絡があります" not in html

    clock.now += timedelta(minutes=5)
    (second,) = await submit_changes(member, form, settings, clock.now, actor)
    await set_change_state(second.id, ChangeState.APPLIED, settings, clock.now)
    _, html = await page(client, "/")
    assert "登録内容の変更を反映しました" in html
    assert "生協からのご連絡があります" not in html


async def test_home_reads_its_news_in_one_query(client, settings, clock, caplog) -> None:
    member, form, actor = await _changed_member(settings, clock)
    (change,) = await submit_changes(member, form, settings, clock.now, actor)
    await set_change_state(change.id, ChangeState.APPLIED, settings, clock.now)
    await run_import(statements_file((member.member_no, "2026-11", 1, 700)), clock)
    assert (await login(client, "hanako@example.jp")).status_code == 303
    await page(client, "/")  # the session and notices are read, as on any first view
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        status, html = await page(client, "/")
    assert status == 200
    assert "登録内容の変更を反映しました" in html and "新しい明細があります" in html
    queries = [record.getMessage() for record in caplog.records]
    news = [q for q in queries if "home_news" in q]
    assert len(news) == 1, news
    assert news[0].lstrip().upper().startswith("SELECT")
    for table in ("statement_line", "inquiry", "change_request"):
        assert not [q for q in queries if table in q], table


@pytest.mark.parametrize("days_later", [29, 31])
async def test_housekeeping_keeps_rows_inside_the_window(settings, app, clock, days_later) -> None:
    from server.maintenance import purge_expired

    member = await make_member(member_no="40000001")
    await run_import(statements_file(("40000001", "2026-11", 1, 700)), clock)
    billed = date(2026, 11, 16)
    clock.now = clock.now.replace(year=billed.year, month=billed.month, day=billed.day)
    clock.now += timedelta(days=days_later)
    await purge_expired(clock.now, settings.replace(home_news_days=30))
    kept = await HomeNews.filter(member_id=member.id).exists()
    assert kept is (days_later < 30)
