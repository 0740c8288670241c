"""Passkey endpoints: JSON ceremonies for the script, plain forms for rename and remove."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, g, jsonify, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account.web import begin_session, note_device
from server.auth.failures import SIGN_IN_FAILURES, limit_failures
from server.auth.sessions import renew_session_token
from server.auth.web import (
    member_required,
    now,
    public,
    request_actor,
    safe_next,
    set_session_cookie,
    settings,
)
from server.errors import DomainError
from server.lib.render import render_page
from server.passkeys import manage, registration, service, signin
from server.passkeys.models import Passkey
from server.passkeys.webauthn import RelyingParty
from server.security import csrf_token
from server.settings.page import render_settings

bp = Blueprint("passkeys", __name__)

OFFER_COOKIE = "mypage_passkey_offer"


def relying_party() -> RelyingParty:
    """RP ID and origin from MYPAGE_BASE_URL."""
    s = settings()
    return service.relying_party(s.base_url, s.coop_name)


async def _json_body() -> dict[str, Any]:
    data = await request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("送信内容を読み取れませんでした。ページを読み込み直してください。")
    return data


def _reauth(error: service.ReauthRequired) -> ResponseReturnValue:
    return jsonify({"error": error.message, "reauth": True}), error.status


async def _confirmed() -> ResponseReturnValue:
    # Identity proved again: a new session token (ASVS 7.2.4). The CSRF token
    # is bound to it, so the script gets the new one for its next posts.
    token = await renew_session_token(g.session.id)
    response = jsonify({"ok": True, "csrfToken": csrf_token(settings().secret_key, token)})
    set_session_cookie(response, token)
    return response


# Adding a passkey (signed in) ----------------------------------------------


@bp.post("/api/passkeys/registration/options")
@member_required
@rate_limit(10, timedelta(minutes=1))
async def registration_options() -> ResponseReturnValue:
    """Options for navigator.credentials.create(), or 403 {reauth: true}."""
    try:
        options = await registration.registration_options(
            g.account, g.member.name, g.session, relying_party(), g.csrf_binding, now()
        )
    except service.ReauthRequired as error:
        return _reauth(error)
    return jsonify({"publicKey": options})


@bp.post("/api/passkeys/registration/verify")
@member_required
@rate_limit(10, timedelta(minutes=1))
async def registration_verify() -> ResponseReturnValue:
    """Store the new passkey; the script then shows /settings with it listed."""
    body = await _json_body()
    try:
        passkey = await registration.register_passkey(
            g.account,
            g.session,
            body.get("credential"),
            relying_party(),
            g.csrf_binding,
            now(),
            request_actor("member"),
            settings(),
        )
    except service.ReauthRequired as error:
        return _reauth(error)
    return jsonify({"name": passkey.name, "redirect": "/settings?done=passkey-added#passkeys"})


@bp.post("/api/passkeys/reauth")
@member_required
@rate_limit(5, timedelta(minutes=1))
@rate_limit(30, timedelta(hours=1))
async def reauth() -> ResponseReturnValue:
    """Password re-entry before adding a passkey."""
    body = await _json_body()
    password = body.get("password")
    await service.reauthenticate(
        g.account,
        g.session,
        password if isinstance(password, str) else "",
        now(),
        request_actor("member"),
    )
    return await _confirmed()


@bp.post("/api/passkeys/reauth/options")
@member_required
@rate_limit(10, timedelta(minutes=1))
async def reauth_options() -> ResponseReturnValue:
    """Options to confirm the member with one of their own passkeys."""
    options = await signin.reauthentication_options(
        g.account, relying_party(), g.csrf_binding, now()
    )
    return jsonify({"publicKey": options})


@bp.post("/api/passkeys/reauth/verify")
@member_required
@rate_limit(10, timedelta(minutes=1))
async def reauth_verify() -> ResponseReturnValue:
    """A use of one of the member's passkeys, instead of re-entering the password."""
    body = await _json_body()
    await signin.reauthenticate_with_passkey(
        g.account,
        g.session,
        body.get("credential"),
        relying_party(),
        g.csrf_binding,
        now(),
        request_actor("member"),
    )
    return await _confirmed()


# Signing in with a passkey -------------------------------------------------


@bp.post("/api/passkeys/authentication/options")
@public
@rate_limit(300, timedelta(minutes=1))
@rate_limit(3000, timedelta(hours=1))
async def authentication_options() -> ResponseReturnValue:
    """Options for navigator.credentials.get() with any discoverable passkey."""
    options = await signin.authentication_options(relying_party(), g.csrf_binding, now())
    return jsonify({"publicKey": options})


@bp.post("/api/passkeys/authentication/verify")
@public
@rate_limit(300, timedelta(minutes=1))
@rate_limit(3000, timedelta(hours=1))
@limit_failures(*SIGN_IN_FAILURES)
async def authentication_verify() -> ResponseReturnValue:
    """Verify the assertion and start a passkey (multi-factor) session; no code is mailed."""
    body = await _json_body()
    next_value = body.get("next")
    target = safe_next(next_value if isinstance(next_value, str) else None)
    try:
        account, passkey_id = await signin.sign_in_with_passkey(
            body.get("credential"), relying_party(), g.csrf_binding, now(), request_actor()
        )
    except service.UnknownPasskey as error:
        return jsonify({"error": error.message, "unknownCredential": True}), error.status
    token = await begin_session(account, method="passkey", multi_factor=True, passkey_id=passkey_id)
    response = jsonify({"redirect": target})
    set_session_cookie(response, token)
    await note_device(response, account, method="passkey", mail_if_new=True)
    return response


# Renaming and removing (plain pages and forms, no JavaScript needed) -------


@bp.get("/settings/passkeys/<int:passkey_id>/remove")
@member_required
async def remove_passkey_confirm(passkey_id: int) -> ResponseReturnValue:
    """削除 asks first (no JavaScript needed): what removal means, then a POST button."""
    passkey = await manage.own_passkey(g.account.id, passkey_id)
    this_page = f"/settings/passkeys/{passkey.id}/remove"
    last_one = (
        g.account.password_hash is None
        and await Passkey.filter(account_id=g.account.id).count() <= 1
    )
    return await render_page(
        "settings/passkey_remove.html",
        passkey=passkey,
        last_one=last_one,
        confirmed=now() - await service.last_strong_auth(g.session) <= service.REAUTH_WINDOW,
        reauth_url="/reauth?" + urlencode({"next": this_page}),
        minutes=int(service.REAUTH_WINDOW.total_seconds() // 60),
    )


@bp.post("/settings/passkeys/<int:passkey_id>/rename")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def rename(passkey_id: int) -> ResponseReturnValue:
    """Rename one of the member's passkeys."""
    form = await request.form
    try:
        await manage.rename_passkey(
            g.account, passkey_id, form.get("name", ""), now(), request_actor("member")
        )
    except service.PasskeyRuleError as error:
        return await render_settings(error=error.message, status=error.status)
    return redirect("/settings?done=passkey-renamed#passkeys", 303)


@bp.post("/settings/passkeys/<int:passkey_id>/delete")
@member_required
@rate_limit(20, timedelta(minutes=1))
async def delete(passkey_id: int) -> ResponseReturnValue:
    """Remove one of the member's passkeys (not the last way to sign in)."""
    try:
        await manage.remove_passkey(
            g.account, g.session, passkey_id, now(), request_actor("member")
        )
    except service.ReauthRequired:
        # Confirm it is still the member (/reauth, or a new sign-in without a
        # password), then back to the confirmation page to press 削除 again.
        back = f"/settings/passkeys/{passkey_id}/remove"
        return redirect("/reauth?" + urlencode({"next": back}), 303)
    except service.PasskeyRuleError as error:
        return await render_settings(error=error.message, status=error.status)
    return redirect("/settings?done=passkey-removed#passkeys", 303)


# The offer after a password sign-in ---------------------------------------


@bp.app_context_processor
async def passkey_offer() -> dict[str, Any]:
    """Offer a passkey right after a password sign-in, unless dismissed on this device."""
    session = g.get("session")
    offer = (
        session is not None
        and session.auth_method == "password"
        and now() - session.created_at <= service.REAUTH_WINDOW
        and request.endpoint != "settings.index"
        and OFFER_COOKIE not in request.cookies
    )
    return {"passkey_offer": offer}
