"""Help and information pages, public so that people can read them before signing in."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g, request, send_file

from server.auth.web import now, public, settings
from server.help.browsers import is_unsupported
from server.help.documents import KIND_TITLES, current_documents, document_file
from server.help.models import DocumentKind
from server.help.qr import qr_svg
from server.lib.clock import to_jst
from server.lib.render import render_page
from server.members.access import withdrawal_deadline
from server.requests.service import fee_with_tax

bp = Blueprint("help", __name__)


@bp.app_context_processor
async def notices() -> dict[str, Any]:
    """Notices every page shows: an unsupported browser, and withdrawal in progress."""
    member = g.get("member")
    withdrawing = member is not None and member.status == "withdrawing"
    until = withdrawal_deadline(member.status, member.capital_refund_on) if withdrawing else None
    # After the last day the page says that access has ended instead (members.access).
    if until is not None and to_jst(now()).date() > until:
        withdrawing = False
    return {
        "unsupported_browser": is_unsupported(request.headers.get("User-Agent", "")),
        "withdrawal_notice": withdrawing,
        "withdrawal_until": until,
    }


@bp.get("/help")
@public
async def index() -> str:
    """The help index: who can use My Page, cost, when, feature phones, mail, and links."""
    s = settings()
    return await render_page("help/index.html", paper_fee_with_tax=fee_with_tax(s.paper_fee_yen))


@bp.get("/help/environment")
@public
async def environment() -> str:
    """Recommended environments: the browsers and systems the co-op supports."""
    return await render_page("help/environment.html")


@bp.get("/help/security")
@public
async def security() -> str:
    """How the co-op protects personal data."""
    return await render_page("help/security.html")


@bp.get("/help/forms")
@public
async def forms() -> str:
    """Joining and leaving need a paper form: the forms, FAX, post and the online application."""
    s = settings()
    documents = await current_documents()
    return await render_page(
        "help/forms.html",
        documents=[(kind, KIND_TITLES[kind], documents.get(kind)) for kind in DocumentKind],
        join_qr=qr_svg(s.coop_join_url) if s.coop_join_url else None,
    )


@bp.get("/help/forms/<int:document_id>.pdf")
@public
async def form_file(document_id: int) -> Response:
    """Download one of the forms staff uploaded."""
    document, path = await document_file(document_id, settings())
    response = await send_file(
        path,
        mimetype="application/pdf",
        as_attachment=True,
        attachment_filename=document.filename,
    )
    response.headers["Cache-Control"] = "no-cache"
    return response
