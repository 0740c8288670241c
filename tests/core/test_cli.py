"""The `mypage` command as an operator runs it, in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from server.db import database_url
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MYPAGE_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}",
        "MYPAGE_DATA_DIR": str(tmp_path / "data"),
    }


def _mypage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_demo_and_serve_with_two_workers(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _mypage(env, "migrate").returncode == 0
    first = _mypage(env, "demo", "--if-empty")
    assert first.returncode == 0 and "demo: created" in first.stdout
    assert "demo@example.jp / gunma-demo-2026" in first.stdout
    again = _mypage(env, "demo", "--if-empty")
    assert "nothing added" in again.stdout
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.3)
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_production_without_secret_refuses_to_start(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "MYPAGE_ENV": "production"}
    result = _mypage(env, "migrate")
    assert result.returncode == 2
    assert "MYPAGE_SECRET_KEY" in result.stderr


def test_an_absolute_sqlite_path_may_be_written_with_four_slashes(tmp_path: Path) -> None:
    """sqlite:////abs/path (the SQLAlchemy spelling) used to hang `mypage migrate`."""
    target = tmp_path / "four" / "slashes.sqlite3"  # absolute: starts with "/"
    three, four = f"sqlite://{target}", f"sqlite:///{target}"
    assert database_url(four + "?busy_timeout=100") == (
        f"{three}?busy_timeout=100&journal_mode=WAL"
    )
    assert database_url(four) == database_url(three)
    assert database_url("sqlite://data/x.sqlite3").startswith("sqlite://data/x.sqlite3?")
    env = {**_env(tmp_path), "MYPAGE_DATABASE_URL": four}
    done = _mypage(env, "migrate")
    assert done.returncode == 0, done.stderr
    assert target.is_file()


def test_the_worker_runs_in_development_without_an_smtp_host(tmp_path: Path) -> None:
    """`mypage worker` catches development mail itself and prints it, as `serve` catches it."""
    env = {**_env(tmp_path), "MYPAGE_ENV": "development"}
    env.pop("MYPAGE_SMTP_HOST", None)
    assert _mypage(env, "migrate").returncode == 0
    assert _mypage(env, "demo").returncode == 0  # queues the demo clerk's set-up mail
    worker = subprocess.Popen(
        [sys.executable, "-m", "server", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert worker.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = worker.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("--- mail to") and "staff-admin@example.jp" in line:
                break
        assert any("mail is caught and printed here" in line for line in lines), lines
        assert any(line.startswith("--- mail to") for line in lines), lines
    finally:
        worker.terminate()
        rest, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0 and "worker: stopped" in rest


def test_an_admin_can_sign_everyone_out(tmp_path: Path) -> None:
    """ASVS 7.4.5: `mypage end-sessions --all` ends every member's and clerk's session."""
    import sqlite3

    env = _env(tmp_path)
    assert _mypage(env, "migrate").returncode == 0
    assert _mypage(env, "demo").returncode == 0
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        (account_id,) = conn.execute("SELECT id FROM account LIMIT 1").fetchone()
        for n in range(3):
            conn.execute(
                "INSERT INTO session (token_hash, account_id, created_at, last_seen_at,"
                " expires_at) VALUES (?, ?, '2026-12-04 10:00:00+00:00',"
                " '2026-12-04 10:00:00+00:00', '2099-12-04 10:00:00+00:00')",
                (f"{n:064d}", account_id),
            )
    refused = _mypage(env, "end-sessions")
    assert refused.returncode == 2 and "--all" in refused.stderr
    done = _mypage(env, "end-sessions", "--all")
    assert done.returncode == 0 and "ended 3 member and 0 staff sessions" in done.stdout
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM session").fetchone() == (0,)
        (event,) = conn.execute(
            "SELECT data FROM audit_event WHERE event = 'auth:session:end_everyone'"
        ).fetchone()
    assert json.loads(event) == {"members": 3, "staff": 0}
