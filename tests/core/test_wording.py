"""One word for one thing: the README's "Wording" list, checked in everything people read.

Templates (pages and mails), the server's Python (messages, labels, PDFs) and
the browser scripts are searched for the losing variants.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# losing variant (as a pattern) -> the word to use instead
LOSING = {
    r"(?<!ご)請求明細": "ご請求明細",
    r"請求明細書": "ご請求明細",
    r"利用明細": "ご請求明細（紙のものは 紙のご請求明細（ハガキ））",
    r"紙の明細": "紙のご請求明細（ハガキ）",
    r"はがき|葉書": "ハガキ",
    r"ブラウザ(?!ー)": "ブラウザー",
    r"フォルダ(?!ー)": "フォルダー",
    # 受け付けた, 見つけた … end in けた too: only a count of digits is meant.
    r"(?:[0-9０-９]|何|いく)けた": "桁",
    r"税抜、": "税抜。（「（税抜。税込 …）」）",
}
# (file, text) where a variant is part of a longer correct word; none today.
ALLOWED: set[tuple[str, str]] = set()


def read_files() -> list[Path]:
    server = ROOT / "server"
    files = [
        *(server / "templates").rglob("*.html"),
        *(server / "templates").rglob("*.txt"),
        *(p for p in server.rglob("*.py") if "migrations" not in p.parts),
        *(ROOT / "pwa").rglob("*.js"),
    ]
    return sorted(files)


def test_the_files_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in read_files()}
    assert "server/statements/pdf.py" in names
    assert "server/templates/mail/service_stopped/body.txt" in names
    assert "server/templates/staff/paper/index.html" in names
    assert len(names) > 150


@pytest.mark.parametrize(
    ("losing", "winning"),
    [
        ("紙の請求明細", "ご請求明細の一覧"),
        ("ご利用明細はハガキで", "紙のご請求明細（ハガキ）"),
        ("ご請求明細書", "ご請求明細（2026年11月分）"),
        ("お使いのブラウザは", "お使いのブラウザーは"),
        ("フォルダに保存", "フォルダーに保存"),
        ("8けたの数字", "8桁の数字、受け付けた、見つけた"),
        ("（税抜、税込 330円）", "（税抜。税込 330円）"),
        ("年賀はがき", "ハガキ"),
    ],
)
def test_the_patterns_tell_the_variants_apart(losing: str, winning: str) -> None:
    assert any(re.search(pattern, losing) for pattern in LOSING)
    assert not any(re.search(pattern, winning) for pattern in LOSING)


def test_no_losing_variant_is_left() -> None:
    found = []
    for path in read_files():
        name = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, winner in LOSING.items():
                for match in re.finditer(pattern, line):
                    context = line[max(0, match.start() - 4) : match.end() + 4]
                    if (name, context) not in ALLOWED:
                        found.append(f"{name}:{number}: 「{context}」 → {winner}")
    assert not found, "\n".join(found)


def test_the_readme_lists_the_wording() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Wording", 1)[1].split("\n## ", 1)[0]
    words = ("ご請求明細", "紙のご請求明細（ハガキ）", "ブラウザー", "フォルダー", "桁", "税抜。")
    for word in words:
        assert word in section, word
