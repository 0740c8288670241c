"""Registration, forgotten address and password, and the sign-in code pages."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, g, make_response, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account.service import (
    REGISTRATION_LIFETIME,
    CodeDead,
    LoginCodeLost,
    RegistrationLost,
    complete_registration,
    finish_login_code,
    live_registration,
    live_reset,
    remember_browser,
    request_password_reset,
    reset_password,
    send_registration_code,
    start_registration,
    verify_registration_code,
)
from server.account.web import (
    BROWSER_COOKIE,
    LOGIN_CODE_COOKIE,
    REGISTRATION_COOKIE,
    clear_cookie,
    complete_sign_in,
    read_cookie,
    set_cookie,
)
from server.auth.failures import CODE_FAILURES, REGISTRATION_FAILURES, limit_failures
from server.auth.web import member_required, now, public, request_actor, safe_next, settings
from server.errors import DomainError
from server.lib.render import render_page
from server.mail.compose import code_ref
from server.outbox.queue import expired_unsent
from server.outbox.runtime import wake_sender
from server.security import token_hash

bp = Blueprint("account", __name__)
# When the code's mail waited out an outage and died unsent (see the outbox sender).
CODE_MAIL_EXPIRED = "認証コードの有効期限が切れました。もう一度送信してください。"


async def _render(template: str, status: int = 200, **context: object) -> ResponseReturnValue:
    return await render_page(f"account/{template}", **context), status


# -- Registration (利用登録) ---------------------------------------------------


@bp.errorhandler(RegistrationLost)
async def registration_lost(error: RegistrationLost) -> ResponseReturnValue:
    """Any step without a live registration: say so and offer to start again."""
    body = await render_page("account/register_lost.html", error=error.message)
    response = await make_response(body, 400)
    clear_cookie(response, REGISTRATION_COOKIE)
    return response


@bp.get("/register")
@public
async def register() -> ResponseReturnValue:
    """Step 1: member number, initial password and birth date."""
    return await _render("register.html", form={}, error=None)


@bp.post("/register")
@public
# A registration session of a whole school comes from one address: failures
# (wrong number, initial password or birth date) are what the address spends.
@rate_limit(300, timedelta(minutes=1))
@rate_limit(1000, timedelta(hours=1))
@limit_failures(*REGISTRATION_FAILURES)
async def register_post() -> ResponseReturnValue:
    """Check who the member is and open the registration in this browser."""
    form = await request.form
    fields = {key: form.get(key, "") for key in ("member_no", "initial_password", "birth_date")}
    try:
        token = await start_registration(
            fields["member_no"],
            fields["initial_password"],
            fields["birth_date"],
            now(),
            settings(),
            request_actor(),
        )
    except DomainError as error:
        refill = {"member_no": fields["member_no"][:40], "birth_date": fields["birth_date"][:40]}
        return await _render("register.html", error.status, form=refill, error=error.message)
    response = redirect("/register/email", 303)
    set_cookie(response, REGISTRATION_COOKIE, token, REGISTRATION_LIFETIME)
    return response


@bp.get("/register/email")
@public
async def register_email() -> ResponseReturnValue:
    """Step 2: the address to use for My Page."""
    registration = await live_registration(read_cookie(REGISTRATION_COOKIE), now())
    email = registration.email or ""
    name = registration.member.name
    return await _render("register_email.html", email=email, error=None, name=name)


@bp.post("/register/email")
@public
# Each registration may have five codes mailed; this only stops floods.
@rate_limit(100, timedelta(minutes=1))
@rate_limit(1000, timedelta(hours=1))
async def register_email_post() -> ResponseReturnValue:
    """Mail the authentication code to the address."""
    form = await request.form
    email = form.get("email", "")
    token = read_cookie(REGISTRATION_COOKIE)
    try:
        await send_registration_code(token, email, now(), settings(), request_actor())
    except RegistrationLost:
        raise
    except DomainError as error:
        registration = await live_registration(token, now())
        return await _render(
            "register_email.html",
            error.status,
            email=email[:254],
            error=error.message,
            name=registration.member.name,
        )
    wake_sender()
    return redirect("/register/code", 303)


@bp.get("/register/code")
@public
async def register_code() -> ResponseReturnValue:
    """Step 3: the code that was mailed."""
    registration = await live_registration(read_cookie(REGISTRATION_COOKIE), now())
    if registration.email is None:
        return redirect("/register/email", 303)
    if await expired_unsent(code_ref(registration.token_hash), now()):
        return await _render(
            "register_code.html", email=registration.email, error=CODE_MAIL_EXPIRED, dead=True
        )
    return await _render("register_code.html", email=registration.email, error=None, dead=False)


@bp.post("/register/code")
@public
@rate_limit(300, timedelta(minutes=1))
@limit_failures(*CODE_FAILURES)
async def register_code_post() -> ResponseReturnValue:
    """Check the code; the address is then the member's."""
    form = await request.form
    token = read_cookie(REGISTRATION_COOKIE)
    try:
        await verify_registration_code(
            token, form.get("code", ""), now(), settings(), request_actor()
        )
    except RegistrationLost:
        raise
    except DomainError as error:
        registration = await live_registration(token, now())
        return await _render(
            "register_code.html",
            error.status,
            email=registration.email or "",
            error=error.message,
            dead=isinstance(error, CodeDead),
        )
    return redirect("/register/password", 303)


@bp.get("/register/password")
@public
async def register_password() -> ResponseReturnValue:
    """Step 4: the password the member will sign in with."""
    registration = await live_registration(read_cookie(REGISTRATION_COOKIE), now())
    if registration.email_verified_at is None:
        return redirect("/register/code", 303)
    return await _render("register_password.html", email=registration.email, error=None)


@bp.post("/register/password")
@public
@rate_limit(100, timedelta(minutes=1))
async def register_password_post() -> ResponseReturnValue:
    """Create the account, queue the registration-complete mail and sign the member in."""
    form = await request.form
    token = read_cookie(REGISTRATION_COOKIE)
    try:
        account = await complete_registration(
            token,
            form.get("password", ""),
            form.get("password_confirm", ""),
            now(),
            settings(),
            request_actor(),
        )
    except RegistrationLost:
        raise
    except DomainError as error:
        registration = await live_registration(token, now())
        return await _render(
            "register_password.html", error.status, email=registration.email, error=error.message
        )
    wake_sender()
    response = await complete_sign_in(
        account, method="password", target="/register/done", via="registration"
    )
    clear_cookie(response, REGISTRATION_COOKIE)
    return response


@bp.get("/register/done")
@member_required
async def register_done() -> ResponseReturnValue:
    """Registration finished: what the mail looks like and what to do if it does not come."""
    return await _render("register_done.html", email=g.account.email)


# -- Forgotten address and password -----------------------------------------------


@bp.get("/help/email-forgotten")
@public
async def email_forgotten() -> ResponseReturnValue:
    """The address is personal data: told only by phone, after identity checks."""
    return await _render("email_forgotten.html")


@bp.get("/password/forgot")
@public
async def password_forgot() -> ResponseReturnValue:
    """Ask for a reset link."""
    return await _render("password_forgot.html", email="", error=None)


@bp.post("/password/forgot")
@public
# At most three reset mails an hour reach one member however many ask; per
# address only a ceiling, high enough for a staff room that forgot together.
@rate_limit(30, timedelta(minutes=1))
@rate_limit(200, timedelta(hours=1))
async def password_forgot_post() -> ResponseReturnValue:
    """Mail a link if the address is registered; the answer is the same either way."""
    form = await request.form
    email = form.get("email", "")
    try:
        await request_password_reset(email, now(), settings(), request_actor())
    except DomainError as error:
        return await _render(
            "password_forgot.html", error.status, email=email[:254], error=error.message
        )
    wake_sender()
    return redirect("/password/forgot/sent", 303)


@bp.get("/password/forgot/sent")
@public
async def password_forgot_sent() -> ResponseReturnValue:
    """The one answer to every reset request."""
    return await _render("password_forgot_sent.html")


@bp.get("/password/reset/<token>")
@public
async def password_reset(token: str) -> ResponseReturnValue:
    """The form behind the mailed link; opening it does not use the link up."""
    try:
        await live_reset(token, now())
    except DomainError as error:
        return await _render("password_reset_invalid.html", 400, error=error.message)
    return await _render("password_reset.html", token=token, error=None)


@bp.post("/password/reset/<token>")
@public
@rate_limit(30, timedelta(minutes=1))
async def password_reset_post(token: str) -> ResponseReturnValue:
    """Set the new password; the link is used up."""
    form = await request.form
    try:
        await reset_password(
            token,
            form.get("password", ""),
            form.get("password_confirm", ""),
            now(),
            settings(),
            request_actor(),
        )
    except DomainError as error:
        try:
            await live_reset(token, now())
        except DomainError as dead:
            return await _render("password_reset_invalid.html", 400, error=dead.message)
        return await _render("password_reset.html", error.status, token=token, error=error.message)
    wake_sender()
    return redirect("/password/reset/done", 303)


@bp.get("/password/reset/done")
@public
async def password_reset_done() -> ResponseReturnValue:
    """The password was changed."""
    return await _render("password_reset_done.html")


# -- The sign-in code (認証コード) ------------------------------------------------


@bp.get("/login/code")
@public
async def login_code() -> ResponseReturnValue:
    """Ask for the code mailed at a sign-in from a new browser."""
    flow = read_cookie(LOGIN_CODE_COOKIE)
    if not flow:
        return redirect("/login", 303)
    if len(flow) <= 100 and await expired_unsent(code_ref(token_hash(flow)), now()):
        body = await render_page("account/login_code_dead.html", error=CODE_MAIL_EXPIRED)
        dead = await make_response(body)
        clear_cookie(dead, LOGIN_CODE_COOKIE)
        return dead
    target = safe_next(request.args.get("next"))
    return await _render("login_code.html", error=None, next=target, remember=False)


@bp.post("/login/code")
@public
@rate_limit(300, timedelta(minutes=1))
@rate_limit(3000, timedelta(hours=1))
@limit_failures(*CODE_FAILURES)
async def login_code_post() -> ResponseReturnValue:
    """Check the code, start the session and, if asked, remember this browser."""
    form = await request.form
    target = safe_next(form.get("next"))
    remember = form.get("remember") == "1"
    try:
        account = await finish_login_code(
            read_cookie(LOGIN_CODE_COOKIE), form.get("code", ""), now(), settings(), request_actor()
        )
    except (CodeDead, LoginCodeLost) as error:
        # Nothing more to try here: the member signs in again for a new code.
        body = await render_page("account/login_code_dead.html", error=error.message)
        dead = await make_response(body, error.status)
        clear_cookie(dead, LOGIN_CODE_COOKIE)
        return dead
    except DomainError as error:
        return await _render(
            "login_code.html", error.status, error=error.message, next=target, remember=remember
        )
    response = await complete_sign_in(account, method="password", target=target, via="code")
    clear_cookie(response, LOGIN_CODE_COOKIE)
    if remember:
        token, lifetime = await remember_browser(
            account, now(), settings().remember_browser_days, request_actor()
        )
        set_cookie(response, BROWSER_COOKIE, token, lifetime)
    return response
