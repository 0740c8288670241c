"""Each statement PDF rendered once per version, kept in a bounded in-process cache.

Rendering a month's PDF (reportlab, the embedded Japanese font subset) costs
tens of milliseconds of CPU, and it held the GIL against every other request:
at 200 connections it was most of the statements pages' p99. A month's PDF
only changes when an import changes its lines (or the member's name or the
co-op's contact settings), so the key is a digest of everything printed:
a re-import that changes the month gives a new key at once, on every
machine, with no invalidation message to lose. Old versions fall out by
least-recent use within MAX_BYTES. Requests that arrive while the same
version is being rendered wait for that one rendering.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

from quart import Quart

from server.lib.offload import run_cpu
from server.lib.shared_loads import SharedLoads
from server.statements.service import Statement

KEY = "mypage_statement_pdfs"
# About 400 statements of a typical size per worker process.
MAX_BYTES = 32 * 1024 * 1024


def version_key(statement: Statement, *, member_id: int, **printed: str) -> str:
    """A digest of the member, the month and everything the PDF prints."""
    lines = [
        [
            line.line_no,
            line.billed_on.isoformat(),
            line.used_on.isoformat(),
            line.description,
            line.quantity,
            line.amount_yen,
        ]
        for line in statement.lines
    ]
    content = json.dumps(
        [member_id, statement.month, lines, sorted(printed.items())], ensure_ascii=False
    )
    return hashlib.sha256(content.encode()).hexdigest()


class PdfCache:
    """Rendered PDFs by version key, least recently used out first."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.renders = 0
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self.rendering = SharedLoads()

    async def get(self, key: str, render: Callable[[], bytes]) -> bytes:
        """The PDF for `key`; `render` runs on a CPU thread only when no copy is kept or coming."""
        body = self.entries.get(key)
        if body is not None:
            self.entries.move_to_end(key)
            return body
        return await self.rendering.load(key, partial(run_cpu, render), partial(self._keep, key))

    def _keep(self, key: str, body: bytes) -> None:
        self.renders += 1
        if len(body) > self.max_bytes:
            return
        self.entries[key] = body
        self.size += len(body)
        while self.size > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped)


def pdf_cache(app: Quart) -> PdfCache:
    """This app's cache (made on first use; one per app instance, so tests never share one)."""
    cache: PdfCache | None = app.extensions.get(KEY)
    if cache is None:
        cache = app.extensions[KEY] = PdfCache()
    return cache
