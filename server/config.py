"""Settings: the only reader of os.environ."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from server.lib.business_days import BusinessCalendar

DEV_SECRET = "dev-only-secret-key-do-not-use-in-production"  # noqa: S105
# Push services of the browsers members use: Chrome, Edge on Android, Samsung
# Internet and Opera (Firebase Cloud Messaging), Firefox (Mozilla autopush),
# Safari on macOS and iOS 16.4+ (Apple), Edge on Windows (WNS, whose endpoints
# live on many regional hosts). A leading dot matches every subdomain.
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "web.push.apple.com",
    ".notify.windows.com",
)
ENVIRONMENTS = ("development", "production", "test")


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable configuration."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def authority(netloc: str, scheme: str) -> str:
    """host[:port] in lower case, without the scheme's default port (as a Host header has it)."""
    host = netloc.rpartition("@")[2].lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return host.removesuffix(default) if default else host


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything the app may be told from outside; frozen once loaded."""

    env: str = "development"
    database_url: str = "sqlite://data/mypage.sqlite3"
    # PostgreSQL connections each process keeps open (asyncpg's pool maxsize).
    db_pool_size: int = 20
    # How long a process reuses a member's loaded session, account and member,
    # and home's 新着 rows (a sign-out elsewhere, a change to the member or news
    # written by another process shows within it); 0: never.
    session_cache_seconds: int = 5
    # Threads for CPU work (password hashing, push encryption, PDFs); 0: one
    # fewer than the cores, so the event loop always keeps one.
    cpu_threads: int = 0
    secret_key: str = field(default=DEV_SECRET, repr=False)
    base_url: str = "http://localhost:8000"
    data_dir: Path = Path("data")
    # Mail
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    mail_from: str = "no-reply@Gmypage.jp"
    smtp_timeout_seconds: int = 30
    # The outbox sender: on inside `mypage serve`; a mail or push that still
    # fails after this many hours is given up and recorded.
    outbox_sender: bool = True
    outbox_poll_seconds: int = 2
    outbox_give_up_hours: int = 48
    # /readyz calls a sender wedged when it has shown no progress for this long.
    outbox_stale_seconds: int = 120
    # Operations: /metrics answers only a bearer of this token (unset: no /metrics);
    # on SIGTERM, requests in flight get this long to finish.
    metrics_token: str = field(default="", repr=False)
    shutdown_grace_seconds: int = 30
    # Push
    vapid_private_key: str = field(default="", repr=False)
    vapid_subject: str = "mailto:info@Gmypage.jp"
    push_allowed_hosts: tuple[str, ...] = DEFAULT_PUSH_HOSTS
    push_ttl_seconds: int = 7 * 24 * 3600
    push_concurrency: int = 64
    push_timeout_seconds: int = 15
    # Shared store for rate limits across workers
    redis_url: str = ""
    # Reverse proxies (TLS terminators) in front of the app that append the
    # client's address to X-Forwarded-For; 0 = browsers connect directly.
    # Only then is that header believed (rate limits, the access log's IPs).
    trusted_proxies: int = 0
    # Sessions and sign-in
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_block_minutes: int = 15
    login_block_max_minutes: int = 60
    # Staff console: passkey-only sign-in, a short idle timeout, one-time setup links
    staff_idle_minutes: int = 15
    staff_absolute_hours: int = 10
    staff_setup_link_hours: int = 24
    # The staff console's own origin (ASVS 3.5.4), e.g. https://staff.mypage.example.jp:
    # set, /staff answers only there, member pages not at all there, and staff
    # passkeys, set-up links and cookies belong to its host. Empty: one origin (`make run`).
    staff_base_url: str = ""
    # Rate limits (per person when signed in, else per address); only browser
    # tests that sign in many times turn them off.
    rate_limits: bool = True
    # Mailed codes per account an hour, so a stolen password buys few guesses at a
    # code (ASVS 6.6.3); only the shared browser-test server, whose demo member
    # signs in from dozens of new browsers, raises it.
    codes_per_hour: int = 5
    # The co-op's facts
    coop_name: str = "群馬県学校生協"
    coop_free_dial: str = "0120-39-5318"
    coop_fax: str = "0120-03-5318"
    paper_fee_yen: int = 100
    # Capital is refunded after a withdrawal at the end of this month ...
    capital_refund_month: int = 7
    # ... and the year's figures are published in this one: two facts that
    # happen to share July at this co-op.
    capital_publish_month: int = 7
    # The co-op holds an ISO/IEC 27001 (ISMS) certificate; /help/security says so
    # only when this is true (a co-op without one must not claim it).
    coop_isms_certified: bool = True
    registration_delay_business_days: int = 5
    # Days the co-op's office is closed besides weekends and public holidays:
    # "MM-DD" every year, "YYYY-MM-DD" once (year-end and new-year break).
    coop_closed_days: tuple[str, ...] = ("12-29", "12-30", "12-31", "01-02", "01-03")
    coop_inquiry_email: str = "info@Gmypage.jp"
    # Registration and sign-in codes
    initial_password_days: int = 90
    remember_browser_days: int = 90
    # Home's 「新着」 items (new statement, reply, applied change) stay this many
    # days at most; each goes sooner once the member has opened it.
    home_news_days: int = 30
    # Where the joining and leaving forms go by post, and the online joining
    # application (shown as a link and a QR code); empty ones are not shown.
    coop_postal_address: str = ""
    coop_join_url: str = ""
    # The card credential on the member's device: the co-op's ES256 card signing key (a PEM
    # path; development and tests generate one under data_dir), retired keys
    # whose public halves stay published so cards they signed keep verifying,
    # and the list of shops the card page links to (empty = no link).
    card_signing_key: str = field(default="", repr=False)
    card_retired_keys: tuple[str, ...] = ()
    card_shops_url: str = ""

    @property
    def coop_mail_domain(self) -> str:
        """The domain members must allow mail from: always the sender address's own."""
        return self.mail_from.rpartition("@")[2]

    @property
    def is_production(self) -> bool:
        """True when running for real members."""
        return self.env == "production"

    @property
    def is_development(self) -> bool:
        """True on a developer's machine (`make run`)."""
        return self.env == "development"

    @property
    def cookie_secure(self) -> bool:
        """Cookies are Secure unless the public origin is plain http (dev and tests)."""
        return self.is_production or self.base_url.startswith("https://")

    @property
    def session_cookie_name(self) -> str:
        """`__Host-` prefix needs Secure, so it is used whenever cookies are secure."""
        return "__Host-mypage_session" if self.cookie_secure else "mypage_session"

    @property
    def csrf_cookie_name(self) -> str:
        """Cookie that binds the CSRF token of visitors who are not signed in."""
        return "__Host-mypage_csrf" if self.cookie_secure else "mypage_csrf"

    @property
    def staff_cookie_secure(self) -> bool:
        """The staff cookie is Secure unless the staff console's origin is plain http."""
        if self.staff_base_url:
            return self.is_production or self.staff_base_url.startswith("https://")
        return self.cookie_secure

    @property
    def staff_cookie_path(self) -> str:
        """/staff on a shared origin; / on the staff host, where nothing else answers."""
        return "/" if self.staff_base_url else "/staff"

    @property
    def staff_cookie_name(self) -> str:
        """`__Host-` on the staff host; on a shared origin it is scoped to /staff, so `__Secure-`.

        `__Host-` also forbids a Domain attribute, so a cookie tossed from
        a parent or sibling domain cannot stand in for it.
        """
        if not self.staff_cookie_secure:
            return "mypage_staff"
        return "__Host-mypage_staff" if self.staff_base_url else "__Secure-mypage_staff"

    @property
    def staff_url(self) -> str:
        """The staff console's origin: MYPAGE_STAFF_BASE_URL, else the member site's."""
        return (self.staff_base_url or self.base_url).rstrip("/")

    @property
    def staff_host(self) -> str:
        """The host (and non-default port) the staff console answers on; empty: any host."""
        if not self.staff_base_url:
            return ""
        parts = urlsplit(self.staff_base_url)
        return authority(parts.netloc, parts.scheme)

    def replace(self, **changes: object) -> Settings:
        """A copy with some values changed (used by tests and the CLI)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def check(self) -> Settings:
        """Refuse configurations that must never serve members."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"MYPAGE_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.is_production:
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ConfigError(
                    "MYPAGE_SECRET_KEY must be set to a random value of 32+ characters "
                    "in production"
                )
            if not self.rate_limits:
                raise ConfigError("MYPAGE_RATE_LIMITS cannot be turned off in production")
            if not self.base_url.startswith("https://"):
                raise ConfigError("MYPAGE_BASE_URL must be https:// in production")
        if self.staff_base_url:
            self._check_staff_base_url()
        if self.db_pool_size < 1:
            raise ConfigError("MYPAGE_DB_POOL_SIZE must be 1 or more")
        if not 0 <= self.cpu_threads <= 64:
            raise ConfigError("MYPAGE_CPU_THREADS must be 0 to 64")
        if not 0 <= self.session_cache_seconds <= 30:
            raise ConfigError("MYPAGE_SESSION_CACHE_SECONDS must be 0 to 30")
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError("MYPAGE_TRUSTED_PROXIES must be between 0 and 5")
        try:
            BusinessCalendar.from_strings(self.coop_closed_days)
        except ValueError as exc:
            raise ConfigError(f"MYPAGE_COOP_CLOSED_DAYS: {exc}") from exc
        if self.coop_join_url and not self.coop_join_url.startswith(("https://", "http://")):
            raise ConfigError("MYPAGE_COOP_JOIN_URL must be an http(s) URL")
        if self.card_shops_url and not self.card_shops_url.startswith(("https://", "http://")):
            raise ConfigError("MYPAGE_CARD_SHOPS_URL must be an http(s) URL")
        subject = self.vapid_subject.lower()
        # Push services (Apple's first) refuse a VAPID contact they cannot reach.
        if not subject.startswith(("mailto:", "https://")) or "localhost" in subject:
            raise ConfigError(
                "MYPAGE_VAPID_SUBJECT must be a real mailto: or https: contact (not localhost)"
            )
        return self

    def _check_staff_base_url(self) -> None:
        parts = urlsplit(self.staff_base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("MYPAGE_STAFF_BASE_URL must be an absolute http(s) origin")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ConfigError("MYPAGE_STAFF_BASE_URL must be an origin only (no path)")
        if self.is_production and parts.scheme != "https":
            raise ConfigError("MYPAGE_STAFF_BASE_URL must be https:// in production")
        # The same host name would share the passkeys' RP ID and the cookies (which
        # ignore ports): no separation at all.
        if parts.hostname == urlsplit(self.base_url).hostname:
            raise ConfigError("MYPAGE_STAFF_BASE_URL must be on another host than MYPAGE_BASE_URL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Load settings from MYPAGE_* variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            key = "MYPAGE_" + f.name.upper()
            if key not in env:
                continue
            raw = env[key]
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _bool(raw)
            elif isinstance(default, int):
                try:
                    values[f.name] = int(raw)
                except ValueError as exc:
                    raise ConfigError(f"{key} must be a whole number") from exc
            elif isinstance(default, tuple):
                values[f.name] = _csv(raw)
            elif isinstance(default, Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        # Deployers set the names docs/deploy.md gives (MYPAGE_SMTP_STARTTLS, MYPAGE_ENV,
        # ...): renaming a field renames its variable.
        return cls(**values).check()  # type: ignore[arg-type]
