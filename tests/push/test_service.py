"""Push rules on their own: queueing notices, hosts, labels, payload size, VAPID keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from py_vapid import Vapid

from server.config import ConfigError, Settings
from server.lib.useragent import browser_and_system
from server.outbox.models import OutboxStatus
from server.push.service import (
    host_allowed,
    push_body,
    queue_statement_notices,
    statement_notice,
)
from server.push.vapid import (
    DEV_KEY_FILE,
    VapidKeyError,
    application_server_key,
    b64url_decode,
    load_vapid,
)
from tests.helpers import queued

ROOT = Path(__file__).resolve().parents[2]


async def test_queue_statement_notices_one_per_member_and_month(app, clock) -> None:
    count = await queue_statement_notices(
        [(1, "2026-11"), (2, "2026-11"), (1, "2026-10"), (1, "2026-11")], clock()
    )
    assert count == 3
    items = await queued("push")
    assert [(q.payload["member_id"], q.payload["url"]) for q in items] == [
        (1, "/statements/2026-11"),
        (2, "/statements/2026-11"),
        (1, "/statements/2026-10"),
    ]
    assert items[0].dedupe_key == "push:1:statement:2026-11"
    # The database fills in each member's id; the rest is the month's notice as built here.
    assert [q.payload for q in items] == [
        statement_notice(1, "2026-11"),
        statement_notice(2, "2026-11"),
        statement_notice(1, "2026-10"),
    ]
    assert {q.status for q in items} == {OutboxStatus.PENDING}
    assert {q.next_attempt_at for q in items} == {clock()}
    # A second import of the same months queues nothing new.
    await queue_statement_notices([(1, "2026-11")], clock())
    assert len(await queued("push")) == 3


def test_statement_notice_topic_is_short_and_url_safe() -> None:
    notice = statement_notice(7, "2027-01")
    assert notice["push_topic"] == "statement-202701"
    assert len(notice["push_topic"]) <= 32
    assert set(notice["push_topic"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert notice["tag"] == "statement-2027-01"
    assert notice["body"].startswith("2027年1月分")
    with pytest.raises(ValueError):
        statement_notice(7, "2027-13")


def test_payload_stays_under_3_kb() -> None:
    notice = {**statement_notice(1, "2026-11"), "body": "長い本文" * 1000}
    data = push_body(notice)
    assert len(data) <= 3000
    assert json.loads(data)["url"] == "/statements/2026-11"


def test_allowed_hosts_exact_and_by_suffix() -> None:
    allowed = ("fcm.googleapis.com", ".notify.windows.com", "*.example.jp")
    assert host_allowed("fcm.googleapis.com", allowed)
    assert host_allowed("FCM.googleapis.com.", allowed)
    assert host_allowed("wns2-par02p.notify.windows.com", allowed)
    assert host_allowed("a.b.example.jp", allowed)
    assert not host_allowed("notify.windows.com", allowed)
    assert not host_allowed("evilnotify.windows.com", allowed)
    assert not host_allowed("x.fcm.googleapis.com", allowed)
    assert not host_allowed("fcm.googleapis.com.evil.jp", allowed)


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            ("Safari", "macOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            ("Samsung Internet", "Android"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ("Firefox", "Linux"),
        ),
        ("curl/8", ("ブラウザー", "")),
    ],
)
def test_device_labels(agent: str, label: tuple[str, str]) -> None:
    assert browser_and_system(agent) == label


def test_development_generates_a_key_once_under_data_dir(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path / "data")
    first = application_server_key(settings)
    key_file = tmp_path / "data" / DEV_KEY_FILE
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    # Another process (a fresh cache) reads the same key back.
    from server.push import vapid

    vapid._cache.clear()
    assert application_server_key(settings) == first
    assert len(b64url_decode(first)) == 65


def test_key_from_a_pem_file_or_raw_base64url(tmp_path: Path) -> None:
    key = Vapid()
    key.generate_keys()
    pem = tmp_path / "vapid.pem"
    pem.write_bytes(key.private_pem())
    from_file = load_vapid(Settings(vapid_private_key=str(pem)))
    raw = key.private_key.private_numbers().private_value.to_bytes(32, "big")
    from server.push.vapid import b64url

    from_raw = load_vapid(Settings(vapid_private_key=b64url(raw)))
    assert from_file.public_key.public_numbers() == from_raw.public_key.public_numbers()
    with pytest.raises(VapidKeyError):
        load_vapid(Settings(vapid_private_key="not-a-key"))


def test_production_needs_a_configured_key_and_a_real_contact(tmp_path: Path) -> None:
    with pytest.raises(VapidKeyError, match="MYPAGE_VAPID_PRIVATE_KEY"):
        load_vapid(Settings(env="production", data_dir=tmp_path))
    good = {
        "MYPAGE_ENV": "production",
        "MYPAGE_SECRET_KEY": "k" * 40,
        "MYPAGE_BASE_URL": "https://mypage.example.jp",
    }
    for subject in ("mailto:admin@localhost", "https://localhost", "admin@example.jp"):
        with pytest.raises(ConfigError, match="MYPAGE_VAPID_SUBJECT"):
            Settings.from_env({**good, "MYPAGE_VAPID_SUBJECT": subject})


def test_mypage_vapid_keys_prints_a_matching_pair() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "vapid-keys"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "MYPAGE_ENV": "test"},
    )
    lines = dict(
        line.split(": ", 1) if ": " in line else line.split("=", 1)
        for line in result.stdout.splitlines()
    )
    private = lines["MYPAGE_VAPID_PRIVATE_KEY"]
    public = lines["public key (applicationServerKey)"]
    assert application_server_key(Settings(vapid_private_key=private)) == public
