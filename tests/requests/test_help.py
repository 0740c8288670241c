"""Help pages: public, built from settings, the forms and QR code, the browser notice."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest

from server.app import create_app
from server.help.browsers import is_unsupported
from server.help.demo import add_demo_forms
from server.help.documents import DocumentError, upload_document
from server.help.models import DocumentKind
from server.lib.clock import FrozenClock
from tests.conftest import START, make_settings
from tests.factories import make_account
from tests.helpers import login, page

IE_MODE = (
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; rv:11.0) like Gecko"
)
CHROME_120 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_help_pages_are_public_and_linked_from_the_index(client) -> None:
    status, html = await page(client, "/help")
    assert status == 200
    for path in ("/help/environment", "/help/security", "/help/forms"):
        assert f'href="{path}"' in html
        status, _ = await page(client, path)
        assert status == 200, path
    assert "現職の方・退職された方" in html
    assert "無料" in html
    assert "5営業日" in html
    assert "@Gmypage.jp" in html
    assert "0120-39-5318" in html


async def test_help_index_follows_the_settings(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        db_url,
        tmp_path,
        coop_free_dial="0120-11-2222",
        mail_from="no-reply@mail.example.coop",
        registration_delay_business_days=7,
        paper_fee_yen=200,
        capital_refund_month=8,
        capital_publish_month=6,
        coop_isms_certified=False,
    )
    app = create_app(settings, clock=FrozenClock(START))
    async with app.test_app():
        client = app.test_client()
        _, html = await page(client, "/help")
        _, forms = await page(client, "/help/forms")
        _, security = await page(client, "/help/security")
    assert "0120-11-2222" in html and "0120-39-5318" not in html
    assert "@mail.example.coop" in html
    assert "7営業日" in html
    assert "200円（税抜。税込 220円）" in html
    assert "0120-11-2222" in forms
    assert "0120-11-2222" in security
    # Publication and refund are separate settings (issue 19 #10).
    assert "毎年6月に更新されます" in html and "8月末に出資金をお返しします" in html
    # No certificate, no claim.
    assert "ISO/IEC 27001" not in security


async def test_the_isms_sentence_is_shown_by_default(client) -> None:
    _, security = await page(client, "/help/security")
    assert "ISO/IEC 27001" in security


async def test_environment_page_lists_the_recommended_browsers(client) -> None:
    _, html = await page(client, "/help/environment")
    for text in ("Windows 10", "102以上", "101以上", "IE モードは対象外", "macOS 10.15"):
        assert text in html
    assert "Safari 15" in html and "Android 7 以降" in html and "バージョン69以上" in html


async def test_security_page_names_the_measures(client) -> None:
    _, html = await page(client, "/help/security")
    measures = ("通信の暗号化", "アクセスログ", "認証コード", "アカウントブロック", "ISO/IEC 27001")
    for text in measures:
        assert text in html


async def test_login_page_links_the_help(client) -> None:
    _, html = await page(client, "/login")
    assert 'href="/help/environment"' in html
    assert 'href="/help"' in html


async def test_forms_page_before_and_after_staff_upload(app, client, settings, clock) -> None:
    """B6: out of the box each form can be had by phone, FAX or post; never 準備中."""
    _, html = await page(client, "/help/forms")
    assert "準備中" not in html
    assert "加入申込書：フリーダイヤル" in html and "郵送でお届けします" in html
    assert "FAX（フリーダイヤル）0120-03-5318 でお名前" in html
    document = await upload_document(DocumentKind.JOIN, PDF, settings, clock.now, staff_id=3)
    _, html = await page(client, "/help/forms")
    assert f'href="/help/forms/{document.id}.pdf"' in html
    assert "脱退届：フリーダイヤル" in html and "準備中" not in html
    response = await client.get(f"/help/forms/{document.id}.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert await response.get_data() == PDF
    # A new upload replaces the old one, whose link then dies.
    newer = await upload_document(DocumentKind.JOIN, PDF + b"%v2", settings, clock.now)
    assert (await client.get(f"/help/forms/{document.id}.pdf")).status_code == 404
    assert (await client.get(f"/help/forms/{newer.id}.pdf")).status_code == 200


async def test_the_demo_brings_sample_forms_to_download(
    app, client, settings, clock, tmp_path: Path
) -> None:
    """B6 on a default install: `mypage demo` uploads a sample of each form."""
    assert await add_demo_forms(settings, clock.now) == 2
    assert await add_demo_forms(settings, clock.now) == 0  # once
    _, html = await page(client, "/help/forms")
    links = re.findall(r'href="(/help/forms/\d+\.pdf)">([^<]+)</a>', html)
    assert [title for _, title in links] == ["加入申込書（見本）（PDF）", "脱退届（見本）（PDF）"]
    response = await client.get(links[1][0])
    path = tmp_path / "leave.pdf"
    path.write_bytes(await response.get_data())
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", str(path), "-"], capture_output=True, text=True
    )
    text = done.stdout
    assert "脱退届（見本）" in text and "0120-03-5318" in text


async def test_only_pdf_files_can_be_uploaded(settings, clock) -> None:
    with pytest.raises(DocumentError, match="PDF"):
        await upload_document(DocumentKind.LEAVE, b"<html>", settings, clock.now)


async def test_join_qr_code_is_inline_svg_of_the_setting(db_url: str, tmp_path: Path) -> None:
    url = "https://join.example.coop/apply?from=mypage"
    app = create_app(make_settings(db_url, tmp_path, coop_join_url=url), clock=FrozenClock(START))
    async with app.test_app():
        _, html = await page(app.test_client(), "/help/forms")
    assert "<svg" in html and "オンライン加入申し込みのQRコード" in html
    assert 'href="https://join.example.coop/apply?from=mypage"' in html


async def test_ie_mode_gets_a_polite_notice_on_every_page(client) -> None:
    await make_account(email="hanako@example.jp")
    for path in ("/login", "/help"):
        response = await client.get(path, headers={"User-Agent": IE_MODE})
        html = await response.get_data(as_text=True)
        assert response.status_code == 200
        assert "推奨環境に含まれていません" in html
    response = await client.get("/help", headers={"User-Agent": CHROME_120})
    assert "推奨環境に含まれていません" not in await response.get_data(as_text=True)
    await login(client, "hanako@example.jp")
    response = await client.get("/", headers={"User-Agent": IE_MODE})
    assert "推奨環境に含まれていません" in await response.get_data(as_text=True)


def test_browser_rules() -> None:
    assert is_unsupported(IE_MODE)
    assert is_unsupported("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)")
    assert is_unsupported(
        "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/70.0 Safari/537.36 Edge/18.17763"
    )
    assert is_unsupported("Mozilla/5.0 (Linux; Android 6.0) Chrome/60.0.3112 Mobile Safari/537.36")
    assert is_unsupported(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 14_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/14.0 Mobile/15E148 Safari/604.1"
    )
    assert not is_unsupported(CHROME_120)
    assert not is_unsupported(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    assert not is_unsupported(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/118.0 Mobile/15E148 Safari/604.1"
    )
    assert not is_unsupported("DoCoMo/2.0 P903i(c100;TB;W24H12)")
    assert not is_unsupported("")


WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "  # noqa: E501
ANDROID = "Mozilla/5.0 (Linux; Android {v}; SO-41A) AppleWebKit/537.36 (KHTML, like Gecko) "


@pytest.mark.parametrize(
    ("user_agent", "unsupported"),
    [
        # Windows 10: Chrome 102+ or Edge 101+, never IE mode.
        (WIN + "Chrome/101.0.4951.67 Safari/537.36", True),
        (WIN + "Chrome/102.0.5005.63 Safari/537.36", False),
        (WIN + "Chrome/101.0.4951.67 Safari/537.36 Edg/100.0.1185.50", True),
        (WIN + "Chrome/101.0.4951.67 Safari/537.36 Edg/101.0.1210.32", False),
        (IE_MODE, True),
        # macOS: Safari 15.
        (MAC + "Version/14.1.2 Safari/605.1.15", True),
        (MAC + "Version/15.0 Safari/605.1.15", False),
        # iOS: Safari 15 or Chrome 69+.
        (IOS.format(v="14_8") + "Version/14.1.2 Mobile/15E148 Safari/604.1", True),
        (IOS.format(v="15_0") + "Version/15.0 Mobile/15E148 Safari/604.1", False),
        (IOS.format(v="15_0") + "CriOS/68.0.3440.83 Mobile/15E148 Safari/604.1", True),
        (IOS.format(v="15_0") + "CriOS/69.0.3497.105 Mobile/15E148 Safari/604.1", False),
        # Android 7+ with Chrome 69+.
        (ANDROID.format(v="6.0.1") + "Chrome/90.0.4430.91 Mobile Safari/537.36", True),
        (ANDROID.format(v="7.0") + "Chrome/68.0.3440.91 Mobile Safari/537.36", True),
        (ANDROID.format(v="7.0") + "Chrome/69.0.3497.100 Mobile Safari/537.36", False),
        (ANDROID.format(v="14") + "Chrome/120.0.6099.144 Mobile Safari/537.36", False),
    ],
)
def test_the_faqs_recommended_environments(user_agent: str, unsupported: bool) -> None:
    """C9: exactly the FAQ's environments; older ones get the notice."""
    assert is_unsupported(user_agent) is unsupported


def test_settings_refuse_bad_closed_days_and_join_url() -> None:
    from server.config import ConfigError, Settings

    settings = Settings.from_env(
        {"MYPAGE_COOP_CLOSED_DAYS": "12-29,2027-01-04", "MYPAGE_COOP_JOIN_URL": "https://j.example"}
    )
    assert settings.coop_closed_days == ("12-29", "2027-01-04")
    with pytest.raises(ConfigError, match="CLOSED_DAYS"):
        Settings.from_env({"MYPAGE_COOP_CLOSED_DAYS": "13-40"})
    with pytest.raises(ConfigError, match="JOIN_URL"):
        Settings.from_env({"MYPAGE_COOP_JOIN_URL": "javascript:alert(1)"})
