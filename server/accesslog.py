"""Hypercorn's request log line, without the secrets a URL or a header can carry.

Set-up and password-reset links put a one-time token in the path, and a page
opened from such a link sends it on as the Referer of its own assets; the
stock line logged both. This one names the client, the request line with
token-like path segments replaced, the status, the size and the time taken,
and leaves out the query string and every header. It is also cheaper: the
stock line copied each request's headers and the whole environment first.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from hypercorn.logging import Logger

# Tokens from server.security.new_token are 43 URL-safe characters; anything
# that long in one path segment is treated as a secret.
TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_-]{20,}")
REDACTED = "***"


# A decoded path or a header can carry %0A and friends: written raw, they start
# a forged log line. C0 and C1 controls, DEL and the Unicode line separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """The text with every control character written as a visible escape (\\x0a)."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def redact(path: str) -> str:
    """The path with token-like segments replaced and control characters escaped."""
    if len(path) > 20:
        path = TOKEN_SEGMENT.sub(REDACTED, path)
    return escape_controls(path)


def utc_formatter() -> logging.Formatter:
    """Log lines stamped in UTC with an explicit Z (ASVS 16.2.2), whatever the server's zone."""
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    return formatter


class EscapeControls(logging.Filter):
    """Escapes control characters in every string a log call interpolates."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                escape_controls(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: escape_controls(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


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
