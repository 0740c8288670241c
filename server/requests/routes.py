"""Profile change requests, the sign-in address and stopping the service."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, g, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account.web import BROWSER_COOKIE, read_cookie
from server.auth.reauth import recent_auth_required
from server.auth.sessions import SignInKept
from server.auth.web import (
    clear_session_cookie,
    member_required,
    now,
    public,
    request_actor,
    settings,
)
from server.lib.render import render_page
from server.pages.news import CHANGE, mark_seen
from server.requests.models import ChangeGroup
from server.requests.service import (
    ChangeInputError,
    EmailChangeError,
    StopError,
    confirm_email_change,
    current_values,
    fee_with_tax,
    member_change_requests,
    pending_email_change,
    pending_values,
    split_name,
    start_email_change,
    stop_service,
    submit_changes,
)

bp = Blueprint("requests", __name__)


def this_browser() -> SignInKept:
    """This browser's session and remembered-browser cookie, kept when others end."""
    return SignInKept(g.session.id, read_cookie(BROWSER_COOKIE))


def _form_values(source: dict[str, str]) -> dict[str, str]:
    keys = (
        "surname",
        "given_name",
        "surname_kana",
        "given_name_kana",
        "postal_code",
        "address",
        "phone",
    )
    return {key: source.get(key, "")[:300] for key in keys}


async def _member_form_values() -> dict[str, str]:
    # The registered values, with what is waiting for the co-op over them.
    current = current_values(g.member) | await pending_values(g.member.id)
    surname, given = split_name(current["name"])
    surname_kana, given_kana = split_name(current["name_kana"])
    return {
        "surname": surname,
        "given_name": given,
        "surname_kana": surname_kana,
        "given_name_kana": given_kana,
        "postal_code": current["postal_code"],
        "address": current["address"],
        "phone": current["phone"],
    }


def _sent_groups() -> list[str]:
    """The groups just sent (?sent=name,address), known codes only."""
    known = {group.value for group in ChangeGroup}
    return [code for code in request.args.get("sent", "").split(",") if code in known]


async def _change_page(
    values: dict[str, str], error: ChangeInputError | None = None, status: int = 200
) -> tuple[str, int]:
    errors = error.fields if error is not None else {}
    body = await render_page(
        "requests/change.html",
        values=values,
        errors=errors,
        first_error=next(iter(errors), None),
        error_message=error.message if error is not None else None,
        has_pending=bool(await pending_values(g.member.id)),
        change_requests=await member_change_requests(g.member.id),
        sent=_sent_groups(),
        email_changed=request.args.get("email") == "changed",
        account=g.account,
    )
    return body, status


@bp.get("/profile/change")
@member_required
async def change() -> ResponseReturnValue:
    """The change form, filled with the registered values, and the requests sent so far."""
    # The list below shows every finished request: home's 新着 for them is seen.
    await mark_seen(g.member.id, CHANGE, None, now())
    return await _change_page(await _member_form_values())


@bp.post("/profile/change")
@member_required
@rate_limit(10, timedelta(minutes=1))
async def change_post() -> ResponseReturnValue:
    """Send the changed groups as requests; the form is refilled after an error."""
    values = _form_values(dict(await request.form))
    try:
        created = await submit_changes(g.member, values, settings(), now(), request_actor("member"))
    except ChangeInputError as error:
        return await _change_page(values, error, error.status)
    sent = ",".join(str(change.group) for change in created)
    return redirect(f"/profile/change?sent={sent}", 303)


@bp.get("/profile/change/email")
@member_required
@recent_auth_required
async def email() -> str:
    """The form for a new sign-in address."""
    return await render_page("requests/email.html", email="", error=None, account=g.account)


@bp.post("/profile/change/email")
@member_required
@rate_limit(5, timedelta(minutes=1))
@rate_limit(20, timedelta(hours=1))
@recent_auth_required
async def email_post() -> ResponseReturnValue:
    """Mail a code to the new address."""
    address = (await request.form).get("email", "")
    try:
        await start_email_change(g.account, address, settings(), now(), request_actor("member"))
    except EmailChangeError as error:
        body = await render_page(
            "requests/email.html", email=address[:254], error=error.message, account=g.account
        )
        return body, error.status
    return redirect("/profile/change/email/verify", 303)


@bp.get("/profile/change/email/verify")
@member_required
async def email_verify() -> str:
    """The code form for the new address."""
    change = await pending_email_change(g.account.id, now())
    return await render_page("requests/email_verify.html", change=change, error=None)


@bp.post("/profile/change/email/verify")
@member_required
@rate_limit(10, timedelta(minutes=1))
async def email_verify_post() -> ResponseReturnValue:
    """Check the code and replace the address."""
    code = (await request.form).get("code", "")
    try:
        await confirm_email_change(
            g.account, code, settings(), now(), request_actor("member"), keep=this_browser()
        )
    except EmailChangeError as error:
        change = await pending_email_change(g.account.id, now())
        body = await render_page("requests/email_verify.html", change=change, error=error.message)
        return body, error.status
    return redirect("/profile/change?email=changed", 303)


async def _stop_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    s = settings()
    body = await render_page(
        "requests/stop.html", error=error, fee_with_tax=fee_with_tax(s.paper_fee_yen)
    )
    return body, status


@bp.get("/service/stop")
@member_required
@recent_auth_required
async def stop() -> ResponseReturnValue:
    """What stopping means, the paper-statement fee, and the confirmation."""
    return await _stop_page()


@bp.post("/service/stop")
@member_required
@rate_limit(5, timedelta(minutes=1))
@recent_auth_required
async def stop_post() -> ResponseReturnValue:
    """Stop the service: the account stops and every session ends, this one too."""
    confirmed = (await request.form).get("confirm") == "yes"
    try:
        await stop_service(g.account, confirmed, settings(), now(), request_actor("member"))
    except StopError as error:
        return await _stop_page(error.message, error.status)
    response = redirect("/service/stopped", 303)
    clear_session_cookie(response)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.get("/service/stopped")
@public
async def stopped() -> str:
    """After stopping: how to come back (registration with a new initial password)."""
    s = settings()
    return await render_page("requests/stopped.html", fee_with_tax=fee_with_tax(s.paper_fee_yen))
