"""Two app processes on one PostgreSQL and Redis, standing for two machines behind a balancer.

Each instance is `python -m server serve` on its own port with the same
settings (base URL, secret key, database, Redis), as docs/deploy.md asks of
several machines. One HTTP client with one cookie jar plays the browser: the
balancer may send any of its requests to either machine. Mail goes to a real
SMTP server, push to the local push receiver of the push tests.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis

from server.db import is_postgres
from server.demo import BULK_PASSWORD, DEMO_EMAIL, DEMO_PASSWORD
from server.mail.catcher import MailCatcher
from server.push.vapid import new_key_pair
from tests.dbutil import TemplateDatabase, asyncpg_dsn, base_url
from tests.e2e.conftest import free_port, run_async
from tests.passkeys.softauthn import SoftAuthenticator
from tests.push.receiver import Device, PushReceiver
from tests.smtp import messages_to

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("MYPAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CODE_RE = re.compile(r"認証コード：(\d{6})")
LINK_RE = re.compile(r"register a passkey at (\S+)")
BULK_MEMBERS = 12
# README (Operations, Several machines): a notice shows on every machine within 5 s.
NOTICE_DELAY = 5.0
# README (configuration): a sign-out shows on every machine within MYPAGE_SESSION_CACHE_SECONDS.
SESSION_CACHE_SECONDS = 5
SERVE = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1"]

pytestmark = pytest.mark.skipif(
    not is_postgres(base_url() or "sqlite://"),
    reason="several machines share PostgreSQL (set MYPAGE_TEST_DATABASE_URL=postgres://...)",
)


def eventually(check: Callable[[], Any], seconds: float = 20, what: str = "") -> Any:
    """Poll `check` until it returns something true."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


class ThreadedReceiver:
    """The push tests' receiver, on its own event loop in a thread."""

    def __init__(self) -> None:
        self.receiver = PushReceiver()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Instance:
    """One `mypage serve` process: one machine."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "MYPAGE_DATA_DIR": str(workdir / f"data-{name}")}
        self.log = workdir / f"server-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*SERVE, "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"instance {self.name} did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class Cluster:
    """Two instances, the database they share, the mail and push services they use."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.template = TemplateDatabase(workdir)
        self.database_url = self.template.template_url
        self.catcher = MailCatcher(free_port())
        self.push = ThreadedReceiver()
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.redis_before: set[bytes] = set()
        self.base = f"http://localhost:{free_port()}"  # the balancer's address, never dialled
        self.env = {
            **os.environ,
            "MYPAGE_ENV": "test",
            "MYPAGE_DATABASE_URL": self.database_url,
            "MYPAGE_BASE_URL": self.base,
            "MYPAGE_SECRET_KEY": "two-instances-secret-key-0123456789abcdef",
            "MYPAGE_SMTP_HOST": "127.0.0.1",
            "MYPAGE_SMTP_PORT": str(self.catcher.port),
            "MYPAGE_REDIS_URL": REDIS_URL,
            "MYPAGE_RATE_LIMITS": "true",
            "MYPAGE_TRUSTED_PROXIES": "1",
            "MYPAGE_VAPID_PRIVATE_KEY": new_key_pair()[0],
            "MYPAGE_PUSH_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MYPAGE_OUTBOX_POLL_SECONDS": "1",
            "MYPAGE_SESSION_CACHE_SECONDS": str(SESSION_CACHE_SECONDS),
        }
        self.a = Instance("a", self.env, workdir)
        self.b = Instance("b", self.env, workdir)

    def mypage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "server", *args],
            env={**self.env, "MYPAGE_DATA_DIR": str(self.workdir / "data-cli")},
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def start(self) -> str:
        """Everything up; returns the demo staff set-up link."""
        self.redis.ping()
        self.redis_before = set(self.redis.scan_iter(count=1000))
        run_async(self.template.create())
        self.catcher.start()
        self.push.start()
        self.mypage("migrate")
        out = self.mypage("demo", "--members", str(BULK_MEMBERS))
        link = LINK_RE.search(out)
        assert link, out
        for instance in (self.a, self.b):
            instance.start()
        for instance in (self.a, self.b):
            instance.wait_ready()
        return link.group(1)

    def stop(self) -> None:
        for instance in (self.a, self.b):
            instance.stop()
        for stop in (self.push.stop, self.catcher.stop):
            try:
                stop()
            except Exception as error:  # the rest must still be cleaned up
                print(f"cleanup: {error!r}", file=sys.stderr)
        run_async(self.template.destroy())
        made = set(self.redis.scan_iter(count=1000)) - self.redis_before
        if made:
            self.redis.delete(*made)
        self.redis.close()

    def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async def fetch() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
            try:
                return await conn.fetch(query, *args)
            finally:
                await conn.close()

        return run_async(fetch())  # type: ignore[no-any-return]


class Browser:
    """One cookie jar; each request goes to the machine the balancer picked."""

    def __init__(self, address: str = "198.51.100.7") -> None:
        self.client = httpx.Client(
            follow_redirects=False, timeout=20, headers={"X-Forwarded-For": address}
        )

    def get(self, at: Instance, path: str) -> httpx.Response:
        return self.client.get(at.url + path)

    def token(self, at: Instance, path: str) -> str:
        html = self.get(at, path).text
        match = CSRF_RE.search(html) or META_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, at: Instance, path: str, form: dict[str, Any], *, page: str) -> httpx.Response:
        data = {"csrf_token": self.token(at, page), **form}
        return self.client.post(at.url + path, data=data)

    def api(
        self, at: Instance, path: str, body: dict[str, Any] | None = None, *, page: str
    ) -> httpx.Response:
        headers = {"X-CSRF-Token": self.token(at, page)}
        return self.client.post(at.url + path, json=body or {}, headers=headers)


def new_code(catcher: MailCatcher, email: str, seen: int) -> str:
    """The authentication code in the first mail after `seen` that holds one."""

    def find() -> str | None:
        for message in messages_to(catcher, email)[seen:]:
            body = message.get_body(preferencelist=("plain",))
            match = CODE_RE.search(body.get_content() if body else "")
            if match:
                return match.group(1)
        return None

    return eventually(find, what=f"a code mailed to {email}")  # type: ignore[no-any-return]


def member_sign_in(cluster: Cluster, browser: Browser, at: Instance) -> None:
    """Password, then the mailed code (a new browser), on one machine."""
    seen = len(messages_to(cluster.catcher, DEMO_EMAIL))
    first = browser.post(
        at, "/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, page="/login"
    )
    assert first.status_code == 303, first.text
    code_page = first.headers["Location"]
    assert code_page.startswith("/login/code"), code_page
    code = new_code(cluster.catcher, DEMO_EMAIL, seen)
    done = browser.post(at, "/login/code", {"code": code, "next": "/"}, page=code_page)
    assert done.status_code == 303 and done.headers["Location"] == "/", done.text


def staff_sign_in(browser: Browser, at: Instance, soft: SoftAuthenticator) -> None:
    """The staff console's passkey sign-in, on one machine."""
    options = browser.api(at, "/staff/api/login/options", page="/staff/login")
    assert options.status_code == 200, options.text
    assertion = soft.get(options.json()["publicKey"])
    verify = browser.api(
        at, "/staff/api/login/verify", {"credential": assertion}, page="/staff/login"
    )
    assert verify.status_code == 200, verify.text


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str]]:
    """Two instances up for this module; everything stopped, dropped and deleted after."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    cluster = Cluster(tmp_path_factory.mktemp("two"))
    try:
        link = cluster.start()
        yield cluster, link
    finally:
        cluster.stop()


def test_member_session_is_one_across_machines(cluster: tuple[Cluster, str]) -> None:
    c, _ = cluster
    browser = Browser("198.51.100.10")
    member_sign_in(c, browser, c.a)
    home_b = browser.get(c.b, "/")
    assert home_b.status_code == 200 and "山田 花子" in home_b.text
    assert browser.get(c.a, "/card").status_code == 200
    cookie = browser.client.cookies.get("mypage_session")
    assert cookie
    # Signed out on B: the same cookie, replayed, is signed out on B at once and
    # on A (which cached the session for /card) within its session cache's TTL.
    out = browser.post(c.b, "/logout", {}, page="/")
    assert out.status_code == 303
    replay = httpx.Client(follow_redirects=False, cookies={"mypage_session": cookie})
    at_once = replay.get(c.b.url + "/")
    assert at_once.status_code in (302, 303), at_once.status_code
    assert at_once.headers["Location"].startswith("/login")
    later = eventually(
        lambda: (r := replay.get(c.a.url + "/")).status_code in (302, 303) and r,
        seconds=SESSION_CACHE_SECONDS + 1,
        what="the copied cookie refused on A",
    )
    assert later.headers["Location"].startswith("/login")


def test_sign_in_failures_and_blocking_count_across_machines(
    cluster: tuple[Cluster, str],
) -> None:
    c, _ = cluster
    # An account blocks after five wrong passwords: three on A and two on B.
    row = c.sql("SELECT email FROM account WHERE email LIKE 'member%' ORDER BY id LIMIT 1")[0]
    email = row["email"]
    browser = Browser("198.51.100.20")
    for n, at in enumerate([c.a, c.b, c.a, c.b, c.a]):
        wrong = browser.post(
            at, "/login", {"email": email, "password": f"wrong-{n}"}, page="/login"
        )
        assert wrong.status_code == 400 or wrong.status_code == 401, wrong.status_code
    blocked = c.sql("SELECT blocked_until FROM account WHERE email = $1", email)[0]
    assert blocked["blocked_until"] is not None
    right = browser.post(c.b, "/login", {"email": email, "password": BULK_PASSWORD}, page="/login")
    assert right.status_code != 303  # blocked on B by failures half made on A
    # An address has ten failures a minute: five on A and five on B, then 429 on either.
    other = Browser("198.51.100.21")
    for n in range(10):
        at = c.a if n % 2 else c.b
        form = {"email": "nobody@example.jp", "password": f"x{n}"}
        status = other.post(at, "/login", form, page="/login").status_code
        assert status in (400, 401), (n, status)
    for at in (c.a, c.b):
        form = {"email": "nobody@example.jp", "password": "again"}
        refused = other.post(at, "/login", form, page="/login")
        assert refused.status_code == 429, refused.status_code
        assert int(refused.headers["Retry-After"]) >= 1
    # Another address is not held back by it.
    fresh = Browser("198.51.100.22")
    form = {"email": "nobody@example.jp", "password": "x"}
    assert fresh.post(c.a, "/login", form, page="/login").status_code in (400, 401)


def test_staff_session_notice_and_import_across_machines(cluster: tuple[Cluster, str]) -> None:
    c, link = cluster
    staff = Browser("198.51.100.30")
    soft = SoftAuthenticator(origin=c.base)
    # Set up (and so signed in) on A; valid on B; signed out on B ends it on A.
    token = link.rsplit("/", 1)[1]
    setup_page = f"/staff/setup/{token}"
    options = staff.api(c.a, f"/staff/api/setup/{token}/options", page=setup_page)
    assert options.status_code == 200, options.text
    credential = soft.create(options.json()["publicKey"])
    verify = staff.api(
        c.a, f"/staff/api/setup/{token}/verify", {"credential": credential}, page=setup_page
    )
    assert verify.status_code == 200, verify.text
    assert staff.get(c.b, "/staff/").status_code == 200
    cookie = staff.client.cookies.get("mypage_staff")
    assert cookie
    assert staff.post(c.b, "/staff/logout", {}, page="/staff/").status_code == 303
    replay = httpx.Client(follow_redirects=False)
    replay.cookies.set("mypage_staff", cookie, path="/staff")
    for at in (c.a, c.b):
        assert replay.get(at.url + "/staff/").status_code in (302, 303)
    staff_sign_in(staff, c.a, soft)
    assert staff.get(c.b, "/staff/").status_code == 200

    # The member's home on B has read (and keeps) today's notices.
    member = Browser("198.51.100.31")
    member_sign_in(c, member, c.b)
    assert "二台のお知らせ" not in member.get(c.b, "/").text
    # A notice written on A shows on B within the documented delay.
    today = c.sql("SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date AS d")[0]["d"]
    form = {"title": "二台のお知らせ", "body": "本文です。", "starts_on": today.isoformat()}
    created = staff.post(c.a, "/staff/notices", form, page="/staff/notices")
    assert created.status_code == 303, created.text
    written = time.monotonic()
    eventually(
        lambda: "二台のお知らせ" in member.get(c.b, "/").text,
        seconds=NOTICE_DELAY + 2,
        what="the notice on B",
    )
    assert time.monotonic() - written <= NOTICE_DELAY + 2  # two page loads' slack

    # The member has two devices; an import applied on A queues a push per
    # device and month for them and a fallback mail for the members without one.
    devices = [Device(c.push.receiver.endpoint()) for _ in range(2)]
    for device in devices:
        saved = member.api(c.b, "/api/push/subscriptions", device.to_json(), page="/")
        assert saved.status_code == 201, saved.text
    bulk = c.sql(
        "SELECT m.member_no, a.email FROM member m JOIN account a ON a.member_id = m.id "
        "WHERE a.email LIKE 'member%' ORDER BY m.id"
    )
    # One of them was blocked above; a block does not stop mail.
    demo_no = c.sql(
        "SELECT m.member_no FROM member m JOIN account a ON a.member_id = m.id WHERE a.email = $1",
        DEMO_EMAIL,
    )[0]["member_no"]
    months = ["2025-01", "2025-02", "2025-03"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "billing_month",
            "member_no",
            "billed_on",
            "line_no",
            "used_on",
            "description",
            "quantity",
            "amount_yen",
        ]
    )
    for month in months:
        writer.writerow([month, demo_no, f"{month}-15", 1, f"{month}-03", "ノート", 1, 330])
    for row in bulk:
        writer.writerow(
            ["2025-01", row["member_no"], "2025-01-15", 1, "2025-01-03", "鉛筆", 2, 200]
        )
    upload = staff.client.post(
        c.a.url + "/staff/imports",
        data={"csrf_token": staff.token(c.a, "/staff/imports"), "kind": "statements"},
        files={"file": ("statements.csv", out.getvalue().encode(), "text/csv")},
    )
    assert upload.status_code == 303, upload.text
    result = upload.headers["Location"]
    applied = staff.post(c.a, result + "/apply", {}, page=result)
    # The apply is queued; either machine's outbox worker runs it.
    assert applied.status_code == 303 and "done=queued" in applied.headers["Location"]

    # Both machines' senders deliver; each device gets each month once, each member one mail.
    expected_pushes = len(months) * len(devices)
    eventually(
        lambda: sum(len(c.push.receiver.to(d.endpoint)) for d in devices) >= expected_pushes,
        seconds=60,
        what="the pushes",
    )

    def notices_to(email: str) -> int:
        mails = messages_to(c.catcher, email)
        return sum("ご請求明細のお知らせ" in str(m.get("Subject", "")) for m in mails)

    def mails_arrived() -> bool:
        return all(notices_to(row["email"]) >= 1 for row in bulk)

    eventually(mails_arrived, seconds=60, what="the fallback mail")
    time.sleep(4)  # a second delivery, if any, would come within a few polls
    for device in devices:
        tags = Counter(device.decrypt(r.body)["tag"] for r in c.push.receiver.to(device.endpoint))
        assert tags == Counter({f"statement-{m}": 1 for m in months}), tags
    for row in bulk:
        assert notices_to(row["email"]) == 1, row["email"]
    pending = c.sql("SELECT count(*) AS n FROM outbox_message WHERE sent_at IS NULL")[0]["n"]
    assert pending == 0
    logs = c.a.log.read_text() + c.b.log.read_text()
    assert "Traceback" not in logs, logs[-3000:]
