"""Each statement PDF is rendered once per version; a re-import of the month gives a new one."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from quart import Quart

from server.audit.service import Actor
from server.imports.plan import Kind
from server.imports.service import import_file
from server.lib.clock import FrozenClock
from server.statements.pdf_cache import PdfCache, pdf_cache
from tests.factories import make_account, make_member
from tests.helpers import login
from tests.statements.factories import make_statement

HEADER = "billing_month,member_no,billed_on,line_no,used_on,description,quantity,amount_yen\n"


async def pdf_text(body: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(body)
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True
    )
    return done.stdout


async def test_a_month_is_rendered_once_until_an_import_changes_it(
    app: Quart, client, clock: FrozenClock, tmp_path: Path
) -> None:
    member = await make_member(name="山田 花子", member_no="00012345")
    await make_account(member, email="hanako@example.jp")
    await make_statement(member, "2026-11", [1100, 2420], descriptions=["ノート", "教育書"])
    await make_statement(member, "2026-10", [500])
    await login(client, "hanako@example.jp")
    cache = pdf_cache(app)

    first = await (await client.get("/statements/2026-11.pdf")).get_data()
    again = await (await client.get("/statements/2026-11.pdf")).get_data()
    assert again == first
    assert cache.renders == 1
    assert "3,520円" in await pdf_text(first, tmp_path, "first.pdf")

    # Several at once for a version not yet kept: still one rendering.
    responses = await asyncio.gather(*(client.get("/statements/2026-10.pdf") for _ in range(5)))
    assert {r.status_code for r in responses} == {200}
    assert cache.renders == 2

    # The core system's file changes the month: the next download is the new one.
    data = HEADER + "2026-11,00012345,2026-11-15,1,2026-11-01,ノート,1,9900\n"
    actor = Actor(kind="system")
    await import_file(Kind.STATEMENTS, data.encode(), source="s.csv", actor=actor, now=clock())
    changed = await (await client.get("/statements/2026-11.pdf")).get_data()
    assert changed != first
    assert cache.renders == 3
    text = await pdf_text(changed, tmp_path, "changed.pdf")
    assert "9,900円" in text and "3,520円" not in text
    # The month the file did not touch is still the kept copy.
    await client.get("/statements/2026-10.pdf")
    assert cache.renders == 3


async def test_another_member_never_gets_the_kept_pdf(app: Quart, client, tmp_path: Path) -> None:
    mine = await make_member(name="山田 花子", member_no="00012345")
    theirs = await make_member(name="佐藤 一郎", member_no="00054321")
    await make_account(mine, email="hanako@example.jp")
    await make_statement(theirs, "2026-11", [777])
    await login(client, "hanako@example.jp")
    assert (await client.get("/statements/2026-11.pdf")).status_code == 404
    await make_statement(mine, "2026-11", [777])
    body = await (await client.get("/statements/2026-11.pdf")).get_data()
    text = await pdf_text(body, tmp_path, "mine.pdf")
    assert "山田 花子" in text and "佐藤" not in text


async def test_the_cache_keeps_within_its_bound() -> None:
    cache = PdfCache(max_bytes=25)
    for key in "abc":
        await cache.get(key, lambda: b"x" * 10)
    assert list(cache.entries) == ["b", "c"] and cache.size == 20
    await cache.get("b", lambda: b"never")  # kept: not rendered again, and now the newest
    await cache.get("d", lambda: b"y" * 10)
    assert list(cache.entries) == ["b", "d"] and cache.renders == 4
    await cache.get("huge", lambda: b"z" * 100)  # larger than the bound: served, not kept
    assert "huge" not in cache.entries and cache.size == 20
