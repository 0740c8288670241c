"""The app factory."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncGenerator, MutableMapping
from functools import lru_cache, partial
from typing import Any

import jinja2
from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart, Response, g, request
from quart.templating import Environment as QuartEnvironment
from quart_rate_limiter import RateLimiter

from server import compression, db, health, metrics
from server.accesslog import EscapeControls, utc_formatter
from server.audit import refusals
from server.auth import failures as auth_failures
from server.auth import sqlite_reader
from server.auth import web as auth_web
from server.card.service import cache_key
from server.config import Settings
from server.errors import register_error_handlers
from server.lib.clock import Clock, system_clock
from server.lib.ratelimit_store import ExpiringMemoryStore, ExpiringRedisStore
from server.lib.threads import PAGES
from server.mail.smtp import OUTLET_KEY, MailOutlet
from server.outbox import runtime as outbox_runtime
from server.pages.routes import PWA_DIR, ROOT_FILES
from server.push.channel import open_push
from server.security import add_vary, apply_security_headers
from server.staff import web as staff_web
from server.staff.imports.job import open_imports

# A pure function of the secret and the member id (an HMAC), asked for on every
# signed-in response; remembering it keeps no session state.
member_cache_key = lru_cache(maxsize=4096)(cache_key)


class SyncTemplate(jinja2.Template):
    """A template rendered in one go: none of ours awaits anything."""

    async def render_async(self, *args: Any, **kwargs: Any) -> str:
        """Render synchronously for Quart's `await template.render_async(...)`."""
        return self.render(*args, **kwargs)

    async def generate_async(self, *args: Any, **kwargs: Any) -> AsyncGenerator[str, object]:
        """Stream synchronously for Quart's `stream_template`."""
        for chunk in self.generate(*args, **kwargs):
            yield chunk


class TemplateEnvironment(QuartEnvironment):
    """Quart's Jinja environment without async mode.

    Async mode compiles every block, call and loop into awaitables, which cost
    about a third of each page's render time; our templates only call plain
    functions (context processors, which may be async, run before rendering).
    """

    template_class = SyncTemplate

    def __init__(self, app: Quart, **options: Any) -> None:
        """Quart's environment, switched to plain rendering before any template compiles."""
        super().__init__(app, **options)
        self.is_async = False

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one plain dict, not Jinja's ChainMap.

        Jinja copies and lists a template's globals for every context it makes
        (each page, layout and include); on a ChainMap that costs ~20 µs each
        time, on a dict next to nothing. Every global is set in create_app,
        before any template is loaded.
        """
        return {**self.globals, **(d or {})}


class App(Quart):
    """Quart with the synchronous template environment."""

    jinja_environment = TemplateEnvironment

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Quart's app, with a memo of which hooks are already coroutines."""
        super().__init__(*args, **kwargs)
        self._async_of: dict[Any, Any] = {}

    def ensure_async(self, func: Any) -> Any:
        """Quart's `ensure_async`, remembered per function.

        Quart asks it for every hook, context processor and view of every
        request; `inspect.iscoroutinefunction` each time cost ~15 hooks x 2 µs.
        """
        try:
            return self._async_of[func]
        except KeyError:
            wrapped = self._async_of[func] = super().ensure_async(func)
            return wrapped
        except TypeError:  # an unhashable callable: ask Quart every time
            return super().ensure_async(func)


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
    app = App(
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
    # Password hashing leaves the pages a core while members are reading them.
    app.asgi_app = PAGES.wrap(app.asgi_app)  # type: ignore[method-assign,assignment]
    _trust_proxies(app, settings)
    # Probes and /metrics are answered before any hook (no session, cookie or limit).
    health.install(app, settings)
    metrics.install(app)
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
    _drop_sync_context_processors(app)
    _register_filters(app)

    @app.before_serving
    async def open_db() -> None:
        if not app.config.get("MYPAGE_DB_EXTERNAL"):
            await db.init_db(settings.database_url)

    @app.after_serving
    async def close_db() -> None:
        sqlite_reader.close()
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
            response.headers["X-Mypage-Cache-Key"] = member_cache_key(
                settings.secret_key, member.id
            )
        return response

    return app


def create_app_from_env() -> Quart:
    """Entry point for hypercorn (`server.app:create_app_from_env()`)."""
    from server.serve import freeze_after_startup

    configure_logging()
    app = create_app(Settings.from_env())
    freeze_after_startup(app)
    return app


def configure_logging() -> None:
    """The app's own log lines on stderr (hypercorn logs access and its errors itself)."""
    logger = logging.getLogger("server")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(utc_formatter())
        handler.addFilter(EscapeControls())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


# Each feature's blueprint, as "module:attribute"; one line per feature.
BLUEPRINTS = [
    "server.auth.routes:bp",
    "server.pages.routes:bp",
    "server.account.routes:bp",
    "server.help.routes:bp",
    "server.inquiries.routes:bp",
    "server.requests.routes:bp",
    "server.settings.routes:bp",
    "server.settings.lost_device:bp",
    "server.passkeys.routes:bp",
    "server.members.routes:bp",
    "server.statements.routes:bp",
    "server.capital.routes:bp",
    "server.push.routes:bp",
    "server.card.routes:bp",
    "server.card.api:bp",
    "server.staff.routes:bp",
    "server.staff.accounts.routes:bp",
    "server.staff.members.routes:bp",
    "server.staff.changes.routes:bp",
    "server.staff.inquiries.routes:bp",
    "server.staff.auditlog.routes:bp",
    "server.staff.notices.routes:bp",
    "server.staff.imports.routes:bp",
    "server.staff.paper.routes:bp",
    "server.staff.documents.routes:bp",
]
# Pages that exist only on a developer's machine (MYPAGE_ENV=development).
DEV_BLUEPRINTS = [
    "server.mail.routes:dev_bp",
]


def _drop_sync_context_processors(app: Quart) -> None:
    # Each blueprint inherits Flask's default context processor, a plain
    # function that finds no Flask context here and adds nothing; Quart would
    # run it in a thread on every render. Quart's own (async) one stays.
    for name, funcs in app.template_context_processors.items():
        if name is not None:
            funcs[:] = [f for f in funcs if f.__module__ != "flask.templating"]


def _register_blueprints(app: Quart, settings: Settings) -> None:
    paths = BLUEPRINTS + (DEV_BLUEPRINTS if settings.is_development else [])
    for path in paths:
        module_name, attribute = path.split(":")
        module = importlib.import_module(module_name)
        app.register_blueprint(getattr(module, attribute))


def _register_filters(app: Quart) -> None:
    from server.lib.formatting import register

    register(app)
