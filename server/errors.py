"""Domain errors and the one place that turns errors into Japanese pages."""

from __future__ import annotations

import logging
from sqlite3 import OperationalError as SQLiteOperationalError

import asyncpg
from quart import Quart, Response, g, jsonify, request
from tortoise.exceptions import DBConnectionError
from werkzeug.exceptions import HTTPException

from server.accesslog import redact
from server.audit.events import RefusalEvent
from server.audit.refusals import refuse
from server.lib.render import render_page

log = logging.getLogger(__name__)

MESSAGES: dict[int, tuple[str, str]] = {
    400: (
        "入力内容を確認してください",
        "送信された内容を受け付けられませんでした。入力内容を確認して、もう一度お試しください。",
    ),
    401: ("ログインが必要です", "続けるにはログインしてください。"),
    403: (
        "操作を受け付けられませんでした",
        "ページの有効期限が切れたか、不正な操作の可能性があります。ページを読み込み直してから、もう一度お試しください。",
    ),
    404: (
        "ページが見つかりません",
        "お探しのページは見つかりませんでした。アドレスを確認するか、ホームからお進みください。",
    ),
    405: ("この操作はできません", "このページではその操作は受け付けていません。"),
    408: (
        "送信に時間がかかりすぎました",
        "送信が時間内に終わりませんでした。通信状態のよい場所で、もう一度お試しください。",
    ),
    413: (
        "送信内容が大きすぎます",
        "送信された内容が大きすぎます。内容を短くして、もう一度お試しください。",
    ),
    429: (
        "しばらく時間をおいてください",
        "短い時間に操作が集中したため、一時的に受け付けを止めています。しばらく待ってから、もう一度お試しください。",
    ),
    503: (
        "ただいま混み合っているか、メンテナンス中です",
        "ただいま混み合っているか、メンテナンス中です。しばらくしてからもう一度お試しください。",
    ),
    500: (
        "エラーが発生しました",
        "申し訳ありません。システムでエラーが発生しました。時間をおいて、もう一度お試しください。",
    ),
}


class DomainError(Exception):
    """A rule was broken; `message` is the Japanese sentence the member reads."""

    status = 400
    # A short machine-readable word for scripts (JSON `reason`), e.g. access_ended.
    reason: str | None = None

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(DomainError):
    """Not there, or not the member's own (we never say which)."""

    status = 404


# How long a browser or a load balancer is asked to wait after a database outage.
OUTAGE_RETRY_AFTER_SECONDS = 30
# Errors that mean "the database cannot be reached now", not "this request is wrong".
_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    DBConnectionError,
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
)
_SQLITE_OUTAGE = ("unable to open database", "database is locked", "disk i/o error")


def is_database_outage(error: BaseException) -> bool:
    """Whether an error (or what caused it) says the database is unreachable right now."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 6:
        if isinstance(current, _OUTAGE_TYPES):
            return True
        if isinstance(current, SQLiteOperationalError) and any(
            text in str(current).lower() for text in _SQLITE_OUTAGE
        ):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/staff/api/"))


async def error_response(
    status: int, message: str | None = None, reason: str | None = None
) -> Response:
    """A Japanese error page (or JSON under /api, with `reason` when given) for a status code."""
    title, default = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    text = message or default
    if _wants_json():
        response = jsonify({"error": text, "reason": reason} if reason else {"error": text})
    else:
        body = await render_page("errors/error.html", title=title, message=text, status=status)
        response = Response(body, content_type="text/html; charset=utf-8")
    response.status_code = status
    return response


def register_error_handlers(app: Quart) -> None:
    """Install the handlers: domain errors, HTTP errors, and everything else as 500."""

    @app.errorhandler(DomainError)
    async def domain_error(error: DomainError) -> Response:
        if isinstance(error, NotFound) and g.get("member") is not None:
            # Every member lookup is scoped to the member, so this is "not there or
            # not theirs": recorded, as another member's record asked for (ASVS 16.3.2).
            refuse(RefusalEvent.RECORD)
        return await error_response(error.status, error.message, error.reason)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = await error_response(status)
        # Keep what the protocol needs (Retry-After on 429, Allow on 405).
        for name, value in error.get_headers():
            if name.lower() in ("retry-after", "allow"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        if is_database_outage(error):
            # Not a bug: the database is restarting or out of reach. One line,
            # no stack trace, and the member is asked to come back shortly.
            log.warning(
                "database unavailable on %s %s: %s",
                request.method,
                redact(request.path),
                repr(error),
            )
            response = await error_response(503)
            response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
            response.headers["Cache-Control"] = "no-store"
            return response
        # Tokens redacted and control characters escaped, so the log holds no secret
        # and no forged line (ASVS 16.2.5, 16.4.1).
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        return await error_response(500)
