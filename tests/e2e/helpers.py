"""What browser tests do again and again: sign in, wait for the service worker, read caches."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page

from server.mail.catcher import MailCatcher
from tests.smtp import messages_to

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]

DEMO_EMAIL = "demo@example.jp"
DEMO_PASSWORD = "gunma-demo-2026"
DEMO_NAME = "山田 花子"
DEMO_KANA = "ヤマダ ハナコ"
DEMO_NUMBER = "00012345"
CODE_RE = re.compile(r"認証コード：(\d{6})")
# The catchers started here; `sign_in` reads codes from the newest.
_catchers: list[MailCatcher] = []


def start_catcher() -> MailCatcher:
    """A real SMTP server on a free port, the one `sign_in` reads mailed codes from."""
    catcher = MailCatcher().start()
    _catchers.append(catcher)
    return catcher


def stop_catcher(catcher: MailCatcher) -> None:
    """Stop a catcher from `start_catcher`."""
    _catchers.remove(catcher)
    catcher.stop()


def sign_in(
    page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD, *, remember: bool = True
) -> None:
    """Sign in through the real form; answer the mailed code when the browser is new."""
    catcher = _catchers[-1]
    seen = len(messages_to(catcher, email))
    page.goto("/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_load_state()
    if not page.url.split("?")[0].endswith("/login/code"):
        return
    match = _wait_for_code(catcher, email, seen)
    page.get_by_label("認証コード", exact=True).fill(match.group(1))
    # Unticked by default (a shared staff-room PC must not be remembered).
    page.get_by_label(re.compile("この端末を記憶する")).set_checked(remember)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_load_state()


def _wait_for_code(
    catcher: MailCatcher, email: str, seen: int, timeout: float = 15
) -> re.Match[str]:
    """The code in the first new mail that has one (other mail may arrive in between)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in messages_to(catcher, email)[seen:]:
            body = message.get_body(preferencelist=("plain",))
            match = CODE_RE.search(body.get_content() if body else "")
            if match:
                return match
        time.sleep(0.1)
    raise AssertionError(f"no authentication code mailed to {email} within {timeout} s")


def wait_for_worker(page: Page) -> None:
    """Until the service worker controls the page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


CACHED_JS = """async (path) => {
  for (const name of await caches.keys()) {
    if (!name.startsWith("mypage-member-")) continue;
    if (await (await caches.open(name)).match(path)) return true;
  }
  return false;
}"""

DUMP_JS = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const type = response.headers.get("Content-Type") || "";
      const text = /text|json|javascript/.test(type) ? await response.text() : "";
      out.push({cache: name, url: request.url, text});
    }
  }
  return out;
}"""


def wait_until_cached(page: Page, path: str, timeout: float = 15) -> None:
    """Until the worker keeps a member copy of `path`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(CACHED_JS, path):
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} was not cached within {timeout} s")


def wait_until_kept(page: Page, path: str, timeout: float = 15) -> None:
    """Until any cache of the origin (the worker's shell, say) holds `path`."""
    deadline = time.monotonic() + timeout
    while not page.evaluate("async (path) => !!(await caches.match(path))", path):
        assert time.monotonic() < deadline, f"{path} was not kept within {timeout} s"
        time.sleep(0.1)


def cache_names(page: Page) -> list[str]:
    """Every Cache Storage name of the origin."""
    return list(page.evaluate("caches.keys()"))


def cached_entries(page: Page) -> list[dict[str, str]]:
    """Every entry of every cache of the origin, with the text of text responses."""
    return list(page.evaluate(DUMP_JS))


def assert_nothing_of(page: Page, *secrets: str) -> None:
    """Neither the page nor any cache of the origin holds any of these strings."""
    content = page.content()
    for secret in secrets:
        assert secret not in content, f"{secret!r} is on the page"
    for entry in cached_entries(page):
        for secret in secrets:
            assert secret not in entry["text"], f"{secret!r} is cached in {entry}"


# A member with an account, created in the live server's own database.
_CREATE_MEMBER = """
import asyncio, json, sys
from datetime import UTC, date, datetime
from server import db
from server.auth.models import Account
from server.config import Settings
from server.members.models import Category, Member
from server.security import hash_password

async def main(spec):
    settings = Settings.from_env()
    await db.init_db(settings.database_url)
    try:
        if spec.get("update"):
            await Member.filter(member_no=spec["member_no"]).update(**spec["update"])
            return
        member = await Member.create(
            member_no=spec["member_no"], name=spec["name"], name_kana=spec["name_kana"],
            birth_date=date(1985, 6, 1), email=spec["email"], category=Category.RETIRED,
            joined_on=date(2012, 4, 1),
        )
        await Account.create(
            member=member, email=spec["email"],
            password_hash=await hash_password(spec["password"]),
            registered_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
    finally:
        await db.close_db()

asyncio.run(main(json.loads(sys.argv[1])))
"""


def _run(server: LiveServer, spec: dict[str, Any]) -> None:
    subprocess.run(
        [sys.executable, "-c", _CREATE_MEMBER, json.dumps(spec)],
        env=server.env,
        cwd=ROOT,
        check=True,
    )


def create_member(
    server: LiveServer, *, email: str, password: str, name: str, name_kana: str, member_no: str
) -> None:
    """A second member (with a My Page account) next to the demo member."""
    _run(
        server,
        {
            "email": email,
            "password": password,
            "name": name,
            "name_kana": name_kana,
            "member_no": member_no,
        },
    )


def update_member(server: LiveServer, member_no: str, **changes: str) -> None:
    """Change a member's row the way the co-op's import would (e.g. a new surname)."""
    _run(server, {"member_no": member_no, "update": changes})


# --- The card on the device (issue 16): its IndexedDB record and its QR.
CARD_RECORD_JS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("coop-card", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("card");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const get = db.transaction("card").objectStore("card").get("current");
    get.onsuccess = () => {
      db.close();
      const r = get.result;
      resolve(r ? {id: r.id, certificate: r.certificate, fields: r.fields, renewedAt: r.renewedAt,
        clockOffsetMs: r.clockOffsetMs, expiresAt: r.expiresAt,
        keyType: r.privateKey.type, extractable: r.privateKey.extractable} : null);
    };
    get.onerror = () => { db.close(); reject(get.error); };
  };
})"""

CARD_DATABASES_JS = "async () => (await indexedDB.databases()).map((d) => d.name)"


def card_record(page: Page) -> dict[str, Any] | None:
    """The certificate record card.js keeps in IndexedDB (without the key itself), or None."""
    record = page.evaluate(CARD_RECORD_JS)
    return dict(record) if record else None


def wait_for_card_record(page: Page, timeout: float = 15) -> dict[str, Any]:
    """Until the page has stored a certificate."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = card_record(page)
        if record:
            return record
        time.sleep(0.1)
    raise AssertionError(f"no card certificate stored within {timeout} s")


def decode_qr_screenshot(page: Page) -> str:
    """The text of the one QR code in a screenshot of the viewport, read by zxing-cpp."""
    import io

    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot()))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"{len(found)} QR codes in the screenshot"
    return str(found[0].text)


def import_member_status(
    server: LiveServer, workdir: Path, member: dict[str, str], status: str
) -> None:
    """A members import from the core system that sets this member's status (e.g. withdrawn)."""
    path = workdir / f"members-{member['member_no']}.csv"
    path.write_text(
        "member_no,name,name_kana,birth_date,email,phone,postal_code,address,workplace,"
        "category,joined_on,status,capital_refund_on\n"
        f"{member['member_no']},{member['name']},{member['name_kana']},1985-06-01,"
        f"{member['email']},027-231-1111,371-0026,群馬県前橋市大手町1-1-1,,退職,2012-04-01,"
        f"{status},\n",
        encoding="utf-8",
    )
    server.mypage("import", "members", str(path))
