"""Hypercorn's request log line, without the secrets a URL or a header can carry.

Set-up and password-reset links put a one-time token in the path, and a page
opened from such a link sends it on as the Referer of its own assets; the
stock line logged both. This one names the client, the request line with
token-like path segments replaced, the status, the size and the time taken,
and leaves out the query string and every header. It is also cheaper: the
stock line copied each request's headers and the whole environment first.
"""

from __future__ import annotations

import re
from typing import Any

from hypercorn.logging import Logger

# Tokens from server.security.new_token are 43 URL-safe characters; anything
# that long in one path segment is treated as a secret.
TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_-]{20,}")
REDACTED = "***"


def redact(path: str) -> str:
    """The path with token-like segments replaced."""
    return TOKEN_SEGMENT.sub(REDACTED, path) if len(path) > 20 else path


class AccessLog(Logger):
    """Hypercorn's logger with a short access line that logs no secrets."""

    async def access(self, request: Any, response: Any, request_time: float) -> None:
        """One line per request: client, request line, status, bytes, milliseconds."""
        if self.access_logger is None:
            return
        client = request.get("client")
        status: object = "-"
        size = "-"
        if response is not None:
            status = response["status"]
            for name, value in response.get("headers", ()):
                if name == b"content-length":
                    size = value.decode("latin1")
                    break
        self.access_logger.info(
            '%s "%s %s HTTP/%s" %s %s %.1fms',
            client[0] if client else "-",
            request.get("method", "GET"),
            redact(request["path"]),
            request.get("http_version", "1.1"),
            status,
            size,
            request_time * 1000,
        )
