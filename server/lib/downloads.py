"""Download headers: a Japanese file name the browser keeps, an ASCII one for old ones."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(filename: str, *, fallback: str, inline: bool = False) -> str:
    """RFC 6266: `filename*` in UTF-8 (ご請求明細.csv), `filename` in ASCII for old browsers."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
