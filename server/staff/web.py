"""The request side of the staff console: loading the staff session, guards, the cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from quart import Quart, g, redirect, request
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound
from werkzeug.sansio.response import Response as BaseResponse

from server.audit.events import RefusalEvent
from server.audit.refusals import refuse
from server.audit.service import Actor
from server.auth.web import allow_slow_upload, now, request_actor, settings
from server.config import Settings, authority
from server.errors import DomainError
from server.staff.models import StaffRole, StaffUser
from server.staff.sessions import StaffSessionPolicy, load_staff_session

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
STAFF_ATTR = "_mypage_requires_staff"
ADMIN_ATTR = "_mypage_requires_admin"
PREFIX = "/staff"


class AdminOnly(DomainError):
    """An operator tried an admin-only action."""

    status = 403

    def __init__(self) -> None:
        super().__init__("この操作は管理者だけが行えます。")


def under_staff(path: str) -> bool:
    """True for the staff console's URLs."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def staff_policy() -> StaffSessionPolicy:
    """Staff session lifetimes from settings (15 idle minutes by default)."""
    s = settings()
    return StaffSessionPolicy(
        idle=timedelta(minutes=s.staff_idle_minutes),
        absolute=timedelta(hours=s.staff_absolute_hours),
    )


def current_staff() -> StaffUser:
    """The signed-in staff member (only inside staff views)."""
    staff: StaffUser = g.staff
    return staff


def staff_request_actor() -> Actor:
    """The signed-in staff member as the audit log's actor for this request."""
    return request_actor("staff").as_staff(current_staff())


def _guard(view: F, *, admin: bool) -> F:
    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff: StaffUser | None = g.get("staff")
        if staff is None:
            if request.path.startswith(PREFIX + "/api/"):
                from server.errors import error_response

                return await error_response(401)
            return redirect(f"{PREFIX}/login?next={request.full_path.rstrip('?')}", 303)
        if admin and staff.role != StaffRole.ADMIN:
            refuse(RefusalEvent.AUTHZ)  # recorded, a few a minute (ASVS 16.3.2)
            raise AdminOnly()
        return await view(*args, **kwargs)

    setattr(wrapper, STAFF_ATTR, True)
    if admin:
        setattr(wrapper, ADMIN_ATTR, True)
    return wrapper  # type: ignore[return-value]


def staff_required(view: F) -> F:
    """Staff console pages: a signed-in staff member (any role)."""
    return _guard(view, admin=False)


def admin_required(view: F) -> F:
    """Admin-only staff pages and actions (staff accounts, settings)."""
    return _guard(view, admin=True)


def staff_public(view: F) -> F:
    """Staff console pages reachable before signing in (login, set-up link)."""
    setattr(view, STAFF_ATTR, False)
    return view


def set_staff_cookie(response: BaseResponse, token: str) -> None:
    """The staff cookie: own name, host-only, path /staff (/ on a staff host), HttpOnly, Strict."""
    s = settings()
    response.set_cookie(
        s.staff_cookie_name,
        token,
        max_age=s.staff_absolute_hours * 3600,
        httponly=True,
        secure=s.staff_cookie_secure,
        samesite="Strict",
        path=s.staff_cookie_path,
    )


def clear_staff_cookie(response: BaseResponse) -> None:
    """Remove the staff cookie from the browser."""
    s = settings()
    response.delete_cookie(
        s.staff_cookie_name,
        path=s.staff_cookie_path,
        secure=s.staff_cookie_secure,
        httponly=True,
        samesite="Strict",
    )


def install_hosts(app: Quart, settings: Settings) -> None:
    """With MYPAGE_STAFF_BASE_URL, keep the staff console and My Page on their own hosts.

    The staff console answers only on the staff host and nothing of My Page
    answers there (ASVS 3.5.4): a member page, script or service worker can
    never run in the staff console's origin, nor the other way round. Both
    hosts serve /static/ (the staff pages' CSS, scripts and icons); the
    root-scoped service worker and manifest are My Page's only, so no member
    PWA can be installed on the staff host. Registered before any other
    hook: a request on the wrong host loads no session at all.
    """
    staff_host = settings.staff_host
    if not staff_host:
        return

    @app.before_request
    async def separate_hosts() -> ResponseReturnValue | None:
        path = request.path
        if path.startswith("/static/"):
            return None
        on_staff_host = authority(request.host, request.scheme) == staff_host
        if on_staff_host and path == "/":
            return redirect(PREFIX + "/", 302)  # the staff host's address as typed
        if under_staff(path) != on_staff_host:
            raise NotFound()
        return None


def install(app: Quart) -> None:
    """Load the staff session on /staff URLs (between the visitor loader and CSRF)."""

    @app.before_request
    async def load_staff() -> None:
        g.staff = None
        g.staff_session = None
        if not under_staff(request.path):
            return
        token = request.cookies.get(settings().staff_cookie_name, "")
        live = await load_staff_session(token, staff_policy(), now()) if token else None
        if live is None:
            # Staff pages never appear to members: a member session gets 404 everywhere here.
            if g.get("member") is not None:
                refuse(RefusalEvent.AUTHZ)
                raise NotFound()
            return
        g.staff_session, g.staff = live
        g.staff_token = token
        allow_slow_upload()
        g.csrf_binding = token
        # Acting as staff, never as a member, on these pages.
        g.member = g.account = g.session = None
