"""Statement pages and downloads, by month from the billing after registration."""

from __future__ import annotations

from functools import partial

from quart import Blueprint, Response, current_app, g

from server.audit.events import StatementEvent
from server.audit.service import record
from server.auth.web import member_required, now, request_actor, settings
from server.lib.downloads import content_disposition
from server.lib.render import render_page
from server.members.access import current_viewer, first_statement_month
from server.pages.news import STATEMENT, mark_seen
from server.statements.export import statements_csv
from server.statements.pdf import statement_pdf
from server.statements.pdf_cache import pdf_cache, version_key
from server.statements.service import (
    all_visible_lines,
    month_label,
    statement,
    visible_months,
)

bp = Blueprint("statements", __name__)


def _download(body: bytes, mimetype: str, filename: str, fallback: str) -> Response:
    # Quart adds "; charset=utf-8" to text/* types itself: name the type alone.
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, fallback=fallback)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/statements")
@member_required
async def index() -> str:
    """Visible months, newest first, with totals; an explained empty state otherwise."""
    viewer = current_viewer()
    months = await visible_months(viewer)
    first = first_statement_month(viewer)
    await record(StatementEvent.LIST_VIEWED, request_actor("member"), now(), months=len(months))
    return await render_page(
        "statements/index.html", months=months, first_label=month_label(first), viewer=viewer
    )


@bp.get("/statements/<month>")
@member_required
async def detail(month: str) -> str:
    """One month's lines and total (404 for months the member cannot see)."""
    found = await statement(current_viewer(), month)
    await record(StatementEvent.VIEWED, request_actor("member"), now(), month=month)
    await mark_seen(g.member.id, STATEMENT, [month], now())
    return await render_page("statements/detail.html", statement=found)


@bp.get("/statements/<month>.pdf")
@member_required
async def pdf(month: str) -> Response:
    """The month's statement as an A4 PDF (rendered once per version of its content)."""
    found = await statement(current_viewer(), month)
    member = g.member
    s = settings()
    printed = {
        "coop_name": s.coop_name,
        "contact": f"{s.coop_name}　フリーダイヤル {s.coop_free_dial}　FAX {s.coop_fax}",
        "member_name": member.name,
        "member_no": member.member_no,
    }
    key = version_key(found, member_id=member.id, **printed)
    body = await pdf_cache(current_app).get(key, partial(statement_pdf, found, **printed))
    actor = request_actor("member")
    await record(StatementEvent.DOWNLOADED, actor, now(), month=month, format="pdf")
    return _download(
        body,
        "application/pdf",
        f"ご請求明細_{month_label(month)}分.pdf",
        f"statement-{month}.pdf",
    )


@bp.get("/statements.csv")
@member_required
async def csv_download() -> Response:
    """Every visible statement line as one CSV file."""
    lines = await all_visible_lines(current_viewer())
    await record(StatementEvent.DOWNLOADED, request_actor("member"), now(), format="csv")
    return _download(statements_csv(lines), "text/csv", "ご請求明細.csv", "statements.csv")
