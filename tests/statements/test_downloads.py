"""PDF and CSV downloads: readable Japanese, embedded font, no formula injection."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from pathlib import Path
from urllib.parse import quote

import pikepdf

from tests.factories import make_account, make_member
from tests.helpers import login
from tests.statements.factories import make_statement


async def tool(*args: str) -> str:
    """Run a poppler tool off the event loop and return what it printed."""
    done = await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, check=True)
    return done.stdout


async def signed_in(client):
    member = await make_member(name="山田 花子", member_no="00012345")
    await make_account(member, email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    return member


async def test_pdf_has_japanese_text_in_an_embedded_font(client, tmp_path: Path) -> None:
    member = await signed_in(client)
    await make_statement(
        member, "2026-11", [12345, -1200], descriptions=["旅行積立金", "返品（ボールペン）"]
    )
    response = await client.get("/statements/2026-11.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"statement-2026-11.pdf\"; filename*=UTF-8''"
        + quote("ご請求明細_2026年11月分.pdf", safe="")
    )
    assert "no-store" in response.headers["Cache-Control"]
    path = tmp_path / "s.pdf"
    path.write_bytes(await response.get_data())
    text = await tool("pdftotext", "-layout", str(path), "-")
    for words in (
        "ご請求明細（2026年11月分）",
        "山田 花子 様",
        "組合員番号 00012345",
        "旅行積立金",
        "返品（ボールペン）",
        "12,345円",
        "−1,200円",
        "11,145円",
        "群馬県学校生協",
        "2026年11月15日",
        "フリーダイヤル 0120-39-5318",
        "FAX 0120-03-5318",
    ):
        assert words in text, words
    info = await tool("pdfinfo", str(path))
    assert "Title:           ご請求明細（2026年11月分）" in info
    assert "Author:          群馬県学校生協" in info
    assert "Subject:         山田 花子 様（組合員番号 00012345）の2026年11月分のご請求明細" in info
    fonts = await tool("pdffonts", str(path))
    row = next(line for line in fonts.splitlines() if "IPAexGothic" in line)
    assert row.split()[-5:-3] == ["yes", "yes"]  # embedded, subset
    assert "HeiseiKakuGo" not in fonts


async def test_a_long_statement_runs_onto_more_pages(client, tmp_path: Path) -> None:
    member = await signed_in(client)
    await make_statement(member, "2026-11", [100] * 60, descriptions=["長い説明" * 50] * 60)
    response = await client.get("/statements/2026-11.pdf")
    path = tmp_path / "long.pdf"
    path.write_bytes(await response.get_data())
    info = await tool("pdfinfo", str(path))
    assert "Pages:           2" in info, info
    assert "A4" in info
    text = await tool("pdftotext", "-layout", str(path), "-")
    assert "長い説明長い説明" in text and "…" in text  # cut to fit its column


async def test_csv_of_all_visible_statements(client) -> None:
    member = await signed_in(client)
    await make_statement(member, "2026-10", [500])
    await make_statement(
        member,
        "2026-11",
        [1000, -550, 10, 20],
        descriptions=['=HYPERLINK("http://evil")', "返品", "+81 電話", "@SUM(A1)"],
    )
    other = await make_member()
    await make_statement(other, "2026-11", [999999])
    response = await client.get("/statements.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # charset once
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"statements.csv\"; filename*=UTF-8''"
        "%E3%81%94%E8%AB%8B%E6%B1%82%E6%98%8E%E7%B4%B0.csv"
    )
    body = await response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["請求月", "請求日", "行番号", "ご利用日", "内容", "数量", "金額（円）"]
    assert [r[0] for r in rows[1:]] == ["2026年11月"] * 4 + ["2026年10月"]
    descriptions = [r[4] for r in rows[1:]]
    assert descriptions[:4] == ['\'=HYPERLINK("http://evil")', "返品", "'+81 電話", "'@SUM(A1)"]
    assert rows[2][6] == "-550"  # numbers stay numbers
    assert "999999" not in body.decode("utf-8-sig")


async def test_the_pdf_is_tagged_for_screen_readers(client, tmp_path: Path) -> None:
    member = await signed_in(client)
    long = "旅行積立金（" + "長い説明" * 30 + "）"
    await make_statement(
        member, "2026-11", [100] * 40 + [-1200], descriptions=[long] * 40 + ["返品（ボールペン）"]
    )
    response = await client.get("/statements/2026-11.pdf")
    path = tmp_path / "tagged.pdf"
    path.write_bytes(await response.get_data())
    info = await tool("pdfinfo", str(path))
    assert "Tagged:          yes" in info and "Pages:           2" in info, info
    tree = await tool("pdfinfo", "-struct-text", str(path))
    lines = [line.strip() for line in tree.splitlines() if line.strip()]
    # The reading order: heading, who and what, then the table, then whom to ask.
    assert lines[:3] == ["Document", "H1 (block)", '"ご請求明細（2026年11月分）"']
    assert '"山田 花子 様"' in lines and '"組合員番号 00012345"' in lines
    table = lines.index("Table (block)")
    assert lines.index('"ご請求金額 2,800円"') < table
    rows = [n for n, line in enumerate(lines) if line == "TR"]
    assert len(rows) == 1 + 41 + 1  # header, every line (on both pages), total
    header = lines[rows[0] : rows[1]]
    assert header.count("/Scope /Column") == 4  # each heading heads its column
    header = [line for line in header if not line.startswith("/")]
    assert header == ["TR", "TH:", '"ご利用日"', "TH:", '"内容"', "TH:", '"数量"', "TH:", '"金額"']
    # The headings repeated at the top of page 2 are artifacts: never a second header row.
    assert lines.count('"ご利用日"') == 1
    last = lines[rows[-2] : rows[-1]]
    assert last[0] == "TR" and last[1::2] == ["TD"] * 4
    assert last[4] == '"返品（ボールペン）"' and last[-1] == '"−1,200円"'
    assert lines[rows[-1] : rows[-1] + 6] == [
        "TR",
        "TH:",
        "/Scope /Row",
        '"ご請求金額合計"',
        "TD",
        '"2,800円"',
    ]
    footers = [n for n, line in enumerate(lines) if "フリーダイヤル 0120-39-5318" in line]
    # On every page's foot, read once after the table (the running footers are artifacts).
    assert footers == [len(lines) - 1] and lines.count("Table (block)") == 1
    assert not any(line.startswith('"- ') for line in lines)  # page numbers are artifacts
    # A description cut short with … on paper is read in full.
    with pikepdf.open(path) as pdf:
        cells = [
            cell
            for row in pdf.Root.StructTreeRoot.K[0].K[6].K[1:]
            for cell in row.K
            if "/ActualText" in cell
        ]
        assert len(cells) == 40 and str(cells[0].ActualText) == long
        assert pdf.Root.MarkInfo.Marked is True and str(pdf.Root.Lang) == "ja-JP"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        header = pdf.Root.StructTreeRoot.K[0].K[6].K[0].K
        assert [str(cell.A.Scope) for cell in header] == ["/Column"] * 4
        assert pdf.open_metadata()["dc:title"] == "ご請求明細（2026年11月分）"
