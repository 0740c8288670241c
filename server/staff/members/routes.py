"""The members screen: search, the member page, phone-support actions and withdrawals."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, Response, redirect, request
from quart.typing import ResponseReturnValue
from quart_rate_limiter import rate_limit

from server.account.service import IssueError
from server.auth.web import now, settings
from server.lib.clock import to_jst
from server.lib.offload import run_cpu
from server.lib.render import render_page
from server.outbox.runtime import wake_sender
from server.staff.members import actions, service
from server.staff.members.letter import Letter, letter_pdf
from server.staff.members.lost_device import lost_device_for_member
from server.staff.members.search import SearchInputError, search_members
from server.staff.web import staff_request_actor, staff_required

bp = Blueprint("staff_members", __name__, url_prefix="/staff/members")

DONE = {
    "unblock": "ロックを解除しました。組合員はすぐにログインできます。",
    "sessions": "すべての端末からログアウトさせました。",
    "withdrawal": "脱退を記録しました。払い戻し日の翌日から、マイページは利用できなくなります。",
    "refund": "払い戻し日を変更しました。",
    "lost-device": (
        "端末をなくしたときの手続きをしました。すべての端末でログアウトし、パスキーと通知の設定を"
        "削除しました。組合員には確認のメールを送りました。"
    ),
    "card": "組合員証を失効させました。お店の確認では「失効」と表示されます。",
    "card_none": "失効させる組合員証はありませんでした（有効な組合員証を持つ端末はありません）。",
}


def _member_path(member_id: int, done: str = "") -> str:
    return f"/staff/members/{member_id}" + (f"?done={done}" if done else "")


async def _member_page(
    page: service.MemberPage, *, error: str | None = None, refund_on: str = "", status: int = 200
) -> tuple[str, int]:
    today = to_jst(now()).date()
    if not refund_on:
        current = page.member.capital_refund_on
        default = actions.default_refund_date(today, settings().capital_refund_month)
        refund_on = (current or default).isoformat()
    body = await render_page(
        "staff/members/member.html",
        page=page,
        done=DONE.get(request.args.get("done", ""), ""),
        error=error,
        refund_on=refund_on[:40],
        today=today.isoformat(),
    )
    return body, status


async def _refused(
    member_id: int, message: str, status: int, refund_on: str = ""
) -> ResponseReturnValue:
    """The member page again, with what went wrong (nothing was changed)."""
    page = await service.member_page(member_id, now())
    return await _member_page(page, error=message, refund_on=refund_on, status=status)


@bp.get("")
@staff_required
async def search() -> ResponseReturnValue:
    """One search box: member number, name or kana, email, phone; at most 50 members listed."""
    query = request.args.get("q", "")
    error = None
    result = None
    try:
        result = await search_members(query, now(), staff_request_actor())
    except SearchInputError as failure:
        error = failure.message
    body = await render_page(
        "staff/members/search.html",
        query=query[:200],
        result=result,
        error=error,
        status_label=service.status_label,
    )
    return body, 400 if error else 200


@bp.get("/<int:member_id>")
@staff_required
async def member(member_id: int) -> ResponseReturnValue:
    """The member page: registered data, account state, sign-ins, passkeys, push devices."""
    page = await service.view_member(member_id, now(), staff_request_actor())
    return await _member_page(page)


@bp.post("/<int:member_id>/initial-password")
@staff_required
@rate_limit(10, timedelta(minutes=1))
async def issue_password(member_id: int) -> ResponseReturnValue:
    """Issue a new initial password and show it once (never stored in plain text)."""
    try:
        issued = await actions.issue_password(member_id, now(), settings(), staff_request_actor())
    except IssueError as failure:
        return await _refused(member_id, failure.message, failure.status)
    if issued.owner_mailed:
        wake_sender()  # the member's sign-in address hears of it now, not at the next poll
    return await render_page("staff/members/issued.html", issued=issued)


@bp.post("/<int:member_id>/initial-password/letter")
@staff_required
@rate_limit(20, timedelta(minutes=1))
async def letter(member_id: int) -> ResponseReturnValue:
    """The A4 letter with the initial password just shown, checked against its stored hash."""
    password = (await request.form).get("password", "")
    try:
        issued = await actions.letter_password(member_id, password, now(), staff_request_actor())
    except actions.LetterRefused as failure:
        return await _refused(member_id, failure.message, failure.status)
    s = settings()
    member = issued.member
    body = await run_cpu(
        letter_pdf,
        Letter(
            member_name=member.name,
            member_no=member.member_no,
            postal_code=member.postal_code,
            address=member.address,
            password=issued.password,
            expires_at=issued.expires_at,
            issued_on=to_jst(now()).date(),
            register_url=f"{s.base_url}/register",
            coop_name=s.coop_name,
            free_dial=s.coop_free_dial,
            mail_domain=s.coop_mail_domain,
        ),
    )
    response = Response(body, mimetype="application/pdf")
    filename = f"initial-password-{member.member_no}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:member_id>/unblock")
@staff_required
@rate_limit(20, timedelta(minutes=1))
async def unblock(member_id: int) -> ResponseReturnValue:
    """Lift the member's sign-in block (set after repeated failed sign-ins)."""
    try:
        await actions.unblock_member(member_id, now(), staff_request_actor())
    except service.MemberActionError as failure:
        return await _refused(member_id, failure.message, failure.status)
    return redirect(_member_path(member_id, "unblock"), 303)


@bp.post("/<int:member_id>/sessions/end")
@staff_required
@rate_limit(20, timedelta(minutes=1))
async def end_sessions(member_id: int) -> ResponseReturnValue:
    """Sign the member out on every device."""
    try:
        await actions.end_member_sessions(member_id, now(), staff_request_actor())
    except service.MemberActionError as failure:
        return await _refused(member_id, failure.message, failure.status)
    return redirect(_member_path(member_id, "sessions"), 303)


@bp.post("/<int:member_id>/withdrawal")
@staff_required
@rate_limit(20, timedelta(minutes=1))
async def withdrawal(member_id: int) -> ResponseReturnValue:
    """Record the member's withdrawal and capital refund date, or correct the date."""
    form = await request.form
    refund_on = form.get("refund_on", "")
    try:
        corrected = await actions.record_withdrawal(
            member_id, refund_on, form.get("confirm") == "1", now(), staff_request_actor()
        )
    except service.MemberActionError as failure:
        return await _refused(member_id, failure.message, failure.status, refund_on)
    return redirect(_member_path(member_id, "refund" if corrected else "withdrawal"), 303)


@bp.post("/<int:member_id>/lost-device")
@staff_required
@rate_limit(10, timedelta(minutes=1))
async def lost_device(member_id: int) -> ResponseReturnValue:
    """「端末をなくしたとき」 for a member on the phone: every session and passkey ends."""
    form = await request.form
    try:
        await lost_device_for_member(
            member_id, form.get("confirm") == "1", now(), settings(), staff_request_actor()
        )
    except service.MemberActionError as failure:
        return await _refused(member_id, failure.message, failure.status)
    wake_sender()
    return redirect(_member_path(member_id, "lost-device"), 303)


@bp.post("/<int:member_id>/card/revoke")
@staff_required
@rate_limit(20, timedelta(minutes=1))
async def revoke_card(member_id: int) -> ResponseReturnValue:
    """「組合員証を失効させる」: the member's card certificates are revoked (a lost phone)."""
    revoked = await actions.revoke_member_cards(member_id, now(), staff_request_actor())
    return redirect(_member_path(member_id, "card" if revoked else "card_none"), 303)
