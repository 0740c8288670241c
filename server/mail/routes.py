"""Development only: the mail the built-in catcher received (/dev/mail)."""

from __future__ import annotations

from quart import Blueprint, current_app

from server.auth.web import public
from server.lib.render import render_page
from server.mail.smtp import OUTLET_KEY, MailOutlet

# Registered by the app factory only when MYPAGE_ENV=development.
dev_bp = Blueprint("devmail", __name__)


@dev_bp.get("/dev/mail")
@public
async def inbox() -> str:
    """Every caught mail, newest first, so a developer can click a reset link."""
    outlet: MailOutlet | None = current_app.config.get(OUTLET_KEY)
    catcher = outlet.catcher if outlet is not None else None
    mails = list(reversed(catcher.messages)) if catcher is not None else []
    return await render_page("devmail/index.html", mails=mails, catcher=catcher)
