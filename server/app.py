"""The app factory."""

from __future__ import annotations

import logging
from functools import partial

from hypercorn.middleware import ProxyFixMiddleware
from quart import Blueprint, Quart, Response, g, request
from quart_rate_limiter import RateLimiter

from server import compression, db, health, metrics
from server.account import routes as account_routes
from server.audit import refusals
from server.auth import failures as auth_failures
from server.auth import routes as auth_routes
from server.auth import web as auth_web
from server.auth.sessions import cache_member_sessions
from server.capital import routes as capital_routes
from server.card import api as card_api
from server.card import routes as card_routes
from server.card.service import cache_key
from server.config import Settings
from server.errors import register_error_handlers
from server.help import routes as help_routes
from server.inquiries import routes as inquiries_routes
from server.lib import finish_requests, render
from server.lib.clock import Clock, system_clock
from server.lib.formatting import register as register_filters
from server.lib.offload import set_cpu_threads
from server.lib.ratelimit_store import ExpiringMemoryStore, ExpiringRedisStore
from server.mail import routes as mail_routes
from server.mail.smtp import OUTLET_KEY, MailOutlet
from server.members import routes as members_routes
from server.outbox import runtime as outbox_runtime
from server.pages import routes as pages_routes
from server.pages.news import cache_home_news
from server.pages.routes import PWA_DIR, ROOT_FILES
from server.passkeys import routes as passkeys_routes
from server.push import routes as push_routes
from server.push.channel import open_push
from server.requests import routes as requests_routes
from server.security import add_vary, apply_security_headers
from server.settings import lost_device
from server.settings import routes as settings_routes
from server.staff import routes as staff_routes
from server.staff import web as staff_web
from server.staff.accounts import routes as staff_accounts_routes
from server.staff.auditlog import routes as staff_auditlog_routes
from server.staff.changes import routes as staff_changes_routes
from server.staff.documents import routes as staff_documents_routes
from server.staff.imports import routes as staff_imports_routes
from server.staff.imports.job import open_imports
from server.staff.inquiries import routes as staff_inquiries_routes
from server.staff.members import routes as staff_members_routes
from server.staff.notices import routes as staff_notices_routes
from server.staff.paper import routes as staff_paper_routes
from server.statements import routes as statements_routes


def _rate_limit_store(settings: Settings) -> ExpiringMemoryStore | ExpiringRedisStore:
    if settings.redis_url:
        return ExpiringRedisStore(settings.redis_url)
    return ExpiringMemoryStore()


def _trust_proxies(app: Quart, settings: Settings) -> None:
    """Take the client's address (and https) from our own reverse proxies' headers."""
    if settings.trusted_proxies:
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxies
        )
    elif settings.is_production:
        logging.getLogger("server").warning(
            "MYPAGE_TRUSTED_PROXIES is 0: every request is taken to come straight from the "
            "browser. Behind a TLS proxy, set it to the number of proxies, or every member "
            "shares the proxy's address (rate limits, access log)."
        )


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> Quart:
    """Build the app for these settings (default: from the environment)."""
    settings = settings or Settings.from_env()
    app = Quart(
        __name__,
        static_folder=str(PWA_DIR),
        static_url_path="/static",
        template_folder="templates",
    )
    app.config.update(
        MYPAGE_SETTINGS=settings,
        MYPAGE_CLOCK=clock,
        MAX_CONTENT_LENGTH=auth_web.MAX_UPLOAD_BYTES,
        QUART_RATE_LIMITER_ENABLED=settings.rate_limits,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        TEMPLATES_AUTO_RELOAD=settings.is_development,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Japanese JSON readable as is
    app.jinja_env.autoescape = True
    app.jinja_env.globals["settings"] = settings
    # Innermost: a visitor who goes away no longer cancels a request half-done.
    finish_requests.install(app)
    _trust_proxies(app, settings)
    # Probes and /metrics are answered before any hook (no session, cookie or limit).
    health.install(app, settings)
    metrics.install(app, settings)
    # First registered, last run: compresses what every other hook produced.
    compression.install(app)
    register_error_handlers(app)
    # Refused requests (CSRF, admin-only, another's record, 429) into the access log.
    refusals.install(app)
    staff_web.install_hosts(app, settings)
    auth_web.install_visitor(app)
    staff_web.install(app)
    # After the member and staff are loaded: signed-in requests are limited per person.
    limiter = RateLimiter(
        app, key_function=auth_web.rate_limit_key, store=_rate_limit_store(settings)
    )
    # Failed sign-ins and codes are counted per address in the same store.
    auth_failures.install(app, limiter)
    auth_web.install_csrf(app)
    _register_blueprints(app, settings)
    register_filters(app)
    render.install(app)
    cache_member_sessions(settings.session_cache_seconds)
    cache_home_news(settings.session_cache_seconds)
    set_cpu_threads(settings.cpu_threads)

    @app.before_serving
    async def open_db() -> None:
        if not app.config.get("MYPAGE_DB_EXTERNAL"):
            await db.init_db(settings.database_url, settings.db_pool_size)

    @app.after_serving
    async def close_db() -> None:
        if not app.config.get("MYPAGE_DB_EXTERNAL"):
            await db.close_db()

    # The outbox sender runs while serving: started after the database opens,
    # stopped before it closes (MYPAGE_OUTBOX_SENDER=0 turns it off).
    mail = app.config[OUTLET_KEY] = MailOutlet(settings)
    channels: list[outbox_runtime.ChannelOpener] = [
        mail.open,
        partial(open_push, settings),
        open_imports,
    ]
    outbox_runtime.install(app, settings, clock, channels)

    @app.after_request
    async def headers(response: Response) -> Response:
        static = request.path.startswith("/static/") or request.path.lstrip("/") in ROOT_FILES
        apply_security_headers(response, settings, member_page=not static)
        member = g.get("member")
        if member is not None:
            add_vary(response, "Cookie")
            # The service worker keeps offline copies under this per-member name.
            response.headers["X-Mypage-Cache-Key"] = cache_key(settings.secret_key, member.id)
        return response

    return app


# Each feature's blueprint; one line per feature.
BLUEPRINTS: tuple[Blueprint, ...] = (
    auth_routes.bp,
    pages_routes.bp,
    account_routes.bp,
    help_routes.bp,
    inquiries_routes.bp,
    requests_routes.bp,
    settings_routes.bp,
    lost_device.bp,
    passkeys_routes.bp,
    members_routes.bp,
    statements_routes.bp,
    capital_routes.bp,
    push_routes.bp,
    card_routes.bp,
    card_api.bp,
    staff_routes.bp,
    staff_accounts_routes.bp,
    staff_members_routes.bp,
    staff_changes_routes.bp,
    staff_inquiries_routes.bp,
    staff_auditlog_routes.bp,
    staff_notices_routes.bp,
    staff_imports_routes.bp,
    staff_paper_routes.bp,
    staff_documents_routes.bp,
)
# Pages that exist only on a developer's machine (MYPAGE_ENV=development).
DEV_BLUEPRINTS: tuple[Blueprint, ...] = (mail_routes.dev_bp,)


def _register_blueprints(app: Quart, settings: Settings) -> None:
    for blueprint in BLUEPRINTS + (DEV_BLUEPRINTS if settings.is_development else ()):
        # Flask gives every blueprint Flask's default context processor, which
        # reads Flask's own context variables (never set under Quart: it returns
        # {}) and, being synchronous, Quart runs in a thread on every render.
        # Quart swaps it for its async one on the app; blueprints keep Flask's.
        # Dropped here, before registration copies it into the app's table (a
        # signed-in /card: 815 -> 661 µs of CPU, -19 %; bench/card_cpu_bench.py,
        # bench/RESULTS.md 2026-12-05). None of our blueprints registers a
        # blueprint-scoped processor of its own; tests/core/test_templates.py
        # checks that every processor left is Quart's or ours, and async.
        blueprint.template_context_processors.pop(None, None)
        app.register_blueprint(blueprint)
