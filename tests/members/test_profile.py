"""C1: the member's registered details."""

from __future__ import annotations

from datetime import date

from server.members.models import Category
from tests.factories import make_account, make_member
from tests.helpers import login, page


async def test_profile_shows_the_registered_details(client) -> None:
    member = await make_member(
        member_no="00012345",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        birth_date=date(1978, 4, 12),
        phone="027-231-0000",
        postal_code="371-0026",
        address="群馬県前橋市大手町1-1-1 生協ハイツ201",
        workplace="前橋市立桃井小学校",
        category=Category.RETIRED,
    )
    await make_account(member, email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    status, html = await page(client, "/profile")
    assert status == 200
    assert "<h1>登録情報</h1>" in html
    for text in (
        "<dt>組合員番号</dt><dd>00012345</dd>",
        "<dt>お名前</dt><dd>山田 花子</dd>",
        "<dt>フリガナ</dt><dd>ヤマダ ハナコ</dd>",
        "<dt>生年月日</dt><dd>1978年<wbr>4月12日</dd>",
        "<dt>郵便番号</dt><dd>〒371-0026</dd>",
        "<dt>ご住所</dt><dd>群馬県前橋市大手町1-1-1 生協ハイツ201</dd>",
        "<dt>電話番号</dt><dd>027-231-0000</dd>",
        "<dt>勤務先</dt><dd>前橋市立桃井小学校</dd>",
        "<dt>区分</dt><dd>退職</dd>",
        "<dt>ログイン用メールアドレス</dt><dd>hanako@example.jp</dd>",
    ):
        assert text in html, text
    assert "脱退のお手続き中です" not in html


async def test_empty_workplace_reads_as_not_registered(client) -> None:
    member = await make_member(workplace="")
    await make_account(member, email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    _, html = await page(client, "/profile")
    assert "<dt>勤務先</dt><dd>（ご登録なし）</dd>" in html


async def test_menu_links_to_the_new_pages(client) -> None:
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    _, html = await page(client, "/")
    for link in ('href="/statements"', 'href="/capital"', 'href="/profile"'):
        assert link in html
