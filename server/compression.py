"""gzip for text responses, in one place (hypercorn does not compress)."""

from __future__ import annotations

import gzip

from quart import Quart, Response, request
from quart.wrappers.response import DataBody, FileBody

from server.security import add_vary

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "text/plain",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    }
)
# Below this, gzip's header and the CPU cost outweigh the bytes saved.
MIN_BYTES = 1024
# Large bodies (PDFs, exports) are not text and are left alone anyway.
MAX_BYTES = 2 * 1024 * 1024
LEVEL = 6


def _accepts_gzip() -> bool:
    accepted = request.headers.get("Accept-Encoding", "")
    return any(part.split(";")[0].strip().lower() == "gzip" for part in accepted.split(","))


async def compress(response: Response) -> Response:
    """Gzip a complete text body when the browser accepts it."""
    if (
        response.mimetype not in COMPRESSIBLE
        or response.status_code != 200
        or request.method == "HEAD"
        # Streamed bodies stay streamed; only complete bodies are compressed.
        or not isinstance(response.response, DataBody | FileBody)
    ):
        return response
    # The few names set so far, in one pass: werkzeug's `in` raises and catches
    # an exception for each absent name (the hook 10.7 -> 8.7 µs of CPU on a page;
    # bench/card_cpu_bench.py, bench/RESULTS.md 2026-12-04 `/card` hot path).
    present = {name.lower() for name, _ in response.headers.items()}
    if "content-encoding" in present or "content-range" in present:
        return response
    add_vary(response, "Accept-Encoding")
    length = response.content_length
    if length is not None and not MIN_BYTES <= length <= MAX_BYTES:
        return response
    if not _accepts_gzip():
        return response
    data = await response.get_data(as_text=False)
    if not MIN_BYTES <= len(data) <= MAX_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        # Another representation of the same resource: a strong tag must differ.
        response.headers["ETag"] = "W/" + etag
    return response


def install(app: Quart) -> None:
    """Register compression; call first in the factory, so it runs after every other hook."""
    app.after_request(compress)
