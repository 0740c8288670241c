"""The membership card over HTTP: what it shows, whose it is, and when it is valid."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, date, datetime

import segno

from server.card.service import cache_key, fiscal_year, qr_svg
from server.lib.clock import FrozenClock
from server.members.models import Category
from tests.factories import make_account, make_member
from tests.helpers import login, page, post_form

KEY_HEADER = "X-Mypage-Cache-Key"


async def signed_in_member(client, **fields):
    member = await make_member(**fields)
    account = await make_account(member)
    response = await login(client, account.email)
    assert response.status_code == 303
    return member


async def test_card_shows_what_a_clerk_checks(client, settings) -> None:
    member = await signed_in_member(
        client,
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        member_no="00012345",
        category=Category.SERVING,
    )
    status, html = await page(client, "/card")
    assert status == 200
    assert settings.coop_name in html
    assert "組合員証" in html
    assert '<span class="card-name-kanji">山田 花子</span>' in html
    assert '<span class="card-kana">ヤマダ ハナコ</span>' in html
    assert '<dd class="card-no">00012345</dd>' in html
    assert "<dt>区分</dt><dd>現職</dd>" in html
    # 2026-11-28 14:00 JST: fiscal year 2026, April to March.
    assert "2026年度" in html
    assert "2027年3月31日</time>まで有効" in html
    # The server's time until the script takes over, and when the data was fetched.
    assert "2026年11月28日 14:00:00</time>" in html
    assert "データ取得 <time" in html and "2026年11月28日 14:00</time>" in html
    assert member.member_no in html


async def test_retired_member_card_says_retired(client) -> None:
    await signed_in_member(client, category=Category.RETIRED)
    _, html = await page(client, "/card")
    assert "<dt>区分</dt><dd>退職</dd>" in html


async def test_qr_code_is_segno_svg_of_the_member_number(client) -> None:
    await signed_in_member(client, member_no="00054321")
    _, html = await page(client, "/card")
    svg = qr_svg("00054321")
    assert svg in html
    assert svg.startswith("<svg") and "<?xml" not in svg
    expected = segno.make_qr("00054321", error="m")
    # The same modules as segno's own rendering of the number.
    assert (
        expected.svg_inline(
            scale=1, border=4, omitsize=True, svgclass="card-qr-svg", lineclass="card-qr-line"
        ).split('d="')[-1]
        == svg.split('d="')[-1]
    )
    assert 'aria-label="組合員番号 00054321 のQRコード"' in html


async def test_card_page_obeys_the_csp(client) -> None:
    await signed_in_member(client)
    response = await client.get("/card")
    html = await response.get_data(as_text=True)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"\sstyle\s*=", html), "inline style attributes are blocked by the CSP"
    assert "<style" not in html
    for script in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in script, script
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers are blocked too"
    assert response.headers["Cache-Control"] == "no-store"


async def test_name_change_by_staff_shows_at_the_next_visit(client) -> None:
    member = await signed_in_member(client, name="山田 花子", name_kana="ヤマダ ハナコ")
    _, html = await page(client, "/card")
    assert "山田 花子" in html
    member.name = "佐藤 花子"
    member.name_kana = "サトウ ハナコ"
    await member.save()
    _, html = await page(client, "/card")
    assert "佐藤 花子" in html and "サトウ ハナコ" in html
    assert "山田" not in html


async def test_card_shows_only_the_signed_in_members_data(app, client) -> None:
    hanako = await signed_in_member(client, name="山田 花子", member_no="00011111")
    taro = await make_member(name="鈴木 太郎", member_no="00022222")
    await make_account(taro, email="taro@example.jp")
    _, html = await page(client, "/card")
    assert "山田 花子" in html and "00011111" in html
    assert "鈴木" not in html and "00022222" not in html
    # The other member, in another browser, sees only theirs.
    other = app.test_client()
    await login(other, "taro@example.jp")
    _, html = await page(other, "/card")
    assert "鈴木 太郎" in html and "00022222" in html
    assert "山田" not in html and "00011111" not in html
    # Different offline cache keys, and neither is the member number or id.
    key_a = (await client.get("/card")).headers[KEY_HEADER]
    key_b = (await other.get("/card")).headers[KEY_HEADER]
    assert key_a != key_b
    assert re.fullmatch(r"[0-9a-f]{32}", key_a)
    assert hanako.member_no not in key_a and key_a != str(hanako.id)


async def test_cache_key_is_a_keyed_hash_of_the_member(client, settings) -> None:
    member = await signed_in_member(client)
    response = await client.get("/")
    assert response.headers[KEY_HEADER] == cache_key(settings.secret_key, member.id)
    assert cache_key("another-secret-key-0123456789abcdef", member.id) != cache_key(
        settings.secret_key, member.id
    )
    assert "Cookie" in response.headers["Vary"]


async def test_signed_out_visitor_gets_the_shell_with_a_sign_in_link(client) -> None:
    # Issue 16: /card is public; without a session the page script fills the
    # shell from the certificate kept on the device, else offers sign-in.
    response = await client.get("/card")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert 'id="card-shell"' in html and "/login?next=/card" in html
    # The card's frame is there for the script, empty: no member data, no QR.
    assert '<dd class="card-no"></dd>' in html and "<svg" not in html
    assert KEY_HEADER not in response.headers


async def test_after_sign_out_the_card_is_gone(client) -> None:
    member = await signed_in_member(client)
    assert (await client.get("/card")).status_code == 200
    response = await post_form(client, "/logout", {}, token_from="/card")
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    response = await client.get("/card")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="card-shell"' in html
    assert member.member_no not in html and member.name not in html


async def test_pages_carry_a_hidden_offline_banner_with_their_time(client) -> None:
    await signed_in_member(client)
    _, html = await page(client, "/card")
    assert (
        '<div class="offline-banner" role="status" data-offline-banner hidden>'
        "オフライン表示（最終更新: 2026年11月28日 14:00）</div>"
    ) in html


async def test_offline_page_is_public_and_never_personal(client) -> None:
    status, html = await page(client, "/offline")
    assert status == 200
    assert "インターネットに接続されていません" in html
    await signed_in_member(client, name="山田 花子", member_no="00012345")
    response = await client.get("/offline")
    html = await response.get_data(as_text=True)
    assert "山田" not in html and "00012345" not in html
    assert "csrf_token" not in html and ">ログアウト</button>" not in html
    assert "data-offline-banner" not in html


async def test_home_offers_installation(client) -> None:
    await signed_in_member(client)
    _, html = await page(client, "/")
    assert 'id="install-hint"' in html and "ホーム画面に追加" in html
    assert '<a href="/card">組合員証</a>' in html
    assert '<script src="/static/js/app.js" defer></script>' in html


def test_fiscal_year_turns_at_midnight_japan_time_on_april_1() -> None:
    # 2027-03-31 23:59:59 JST is still fiscal year 2026.
    last = fiscal_year(datetime(2027, 3, 31, 14, 59, 59, tzinfo=UTC))
    assert (last.year, last.first_day, last.last_day) == (
        2026,
        date(2026, 4, 1),
        date(2027, 3, 31),
    )
    # 2027-04-01 00:00 JST (still March 31 in UTC) starts fiscal year 2027.
    first = fiscal_year(datetime(2027, 3, 31, 15, 0, tzinfo=UTC))
    assert (first.year, first.first_day, first.last_day) == (
        2027,
        date(2027, 4, 1),
        date(2028, 3, 31),
    )
    assert fiscal_year(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)).year == 2026


async def test_card_validity_follows_the_clock(client, clock: FrozenClock) -> None:
    clock.now = datetime(2027, 3, 31, 14, 50, tzinfo=UTC)  # 23:50 JST
    await signed_in_member(client)
    _, html = await page(client, "/card")
    assert "2026年度" in html and "2027年3月31日</time>まで有効" in html
    clock.advance(minutes=10)  # 2027-04-01 00:00 JST
    _, html = await page(client, "/card")
    assert "2027年度" in html and "2028年3月31日</time>まで有効" in html
    assert "2027年4月1日 00:00:00</time>" in html


async def test_manifest_is_installable_and_names_the_coop(client, settings) -> None:
    response = await client.get("/manifest.json")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    data = json.loads(await response.get_data(as_text=True))
    assert data["name"] == f"{settings.coop_name} マイページ"
    assert data["lang"] == "ja" and data["display"] == "standalone"
    assert data["start_url"] == "/card" and data["scope"] == "/"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in data["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in data["icons"]:
        image = await client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"


async def test_the_verifier_installs_as_an_app_of_its_own(client, settings) -> None:
    """A shop installs /verify and gets /verify, not a member's card."""
    _, html = await page(client, "/verify")
    assert '<link rel="manifest" href="/verify-manifest.json">' in html
    _, card = await page(client, "/card")
    assert '<link rel="manifest" href="/manifest.json">' in card
    response = await client.get("/verify-manifest.json")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    data = json.loads(await response.get_data(as_text=True))
    assert data["id"] == data["start_url"] == data["scope"] == "/verify"
    assert data["name"] == f"{settings.coop_name} 組合員証の確認（お店用）"
    assert data["display"] == "standalone" and "shortcuts" not in data


async def test_service_worker_is_served_from_the_root(client) -> None:
    response = await client.get("/service-worker.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    script = await response.get_data(as_text=True)
    assert 'const PREFIX = "mypage-"' in script and "X-Mypage-Cache-Key" in script
    # Every file of the shell it precaches exists.
    shell = re.search(r"const SHELL_FILES = \[(.*?)\];", script, re.S)
    assert shell
    for path in re.findall(r'"(/[^"]+)"', shell.group(1)):
        assert (await client.get(path)).status_code == 200, path


async def test_text_is_gzipped_when_the_browser_accepts_it(client) -> None:
    await signed_in_member(client)
    plain = await client.get("/card")
    packed = await client.get("/card", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Cookie" in packed.headers["Vary"]
    body = await packed.get_data()
    assert len(body) < len(await plain.get_data()) / 2
    assert gzip.decompress(body).decode().count("組合員証") >= 1
    css = await client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert css.headers["ETag"].startswith("W/")
    icon = await client.get("/static/icons/icon-192.png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in icon.headers


async def test_compressed_static_files_still_revalidate(client) -> None:
    first = await client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    again = await client.get(
        "/static/css/app.css", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again.status_code == 304
    plain = await client.get("/static/css/app.css")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
