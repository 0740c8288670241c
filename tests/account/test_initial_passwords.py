"""`mypage initial-passwords`: the mail-merge CSV, hashes only in the database."""

from __future__ import annotations

import argparse
import csv
from datetime import timedelta

from server import db
from server.account.initial import normalize_initial_password
from server.account.models import InitialPassword
from server.audit.models import AuditEvent
from server.cli import build_parser, cmd_initial_passwords
from server.config import Settings
from server.members.models import MemberStatus
from server.security import verify_password
from tests.factories import make_account, make_member


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["initial-passwords", *argv])


async def test_issues_for_members_without_an_account(settings: Settings, tmp_path) -> None:
    await db.init_db(settings.database_url)
    try:
        new = await make_member(name="佐藤 陽子", member_no="00000001", address="前橋市1-2-3")
        await make_member(member_no="00000002", status=MemberStatus.WITHDRAWN)
        await make_account(await make_member(member_no="00000003"))
    finally:
        await db.close_db()
    out = tmp_path / "letters.csv"
    assert await cmd_initial_passwords(args("--out", str(out)), settings) == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, for spreadsheet mail merge
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["member_no"] for r in rows] == ["00000001"]
    row = rows[0]
    assert row["name"] == "佐藤 陽子" and row["address"] == "前橋市1-2-3"
    assert row["postal_code"] == "371-0026"
    password = row["initial_password"]
    assert len(password) == 14 and password.count("-") == 2
    await db.init_db(settings.database_url)
    try:
        stored = await InitialPassword.get(member_id=new.id)
        assert password not in stored.password_hash
        assert await verify_password(stored.password_hash, normalize_initial_password(password))
        assert stored.expires_at - stored.issued_at == timedelta(days=90)
        assert row["expires_on"] == (stored.expires_at + timedelta(hours=9)).date().isoformat()
        assert await AuditEvent.filter(event="account:initial_password:issue").count() == 1
        event = await AuditEvent.get(event="account:initial_password:issue")
        assert password not in str(event.data)
    finally:
        await db.close_db()


async def test_named_members_and_refusals(settings: Settings, tmp_path) -> None:
    await db.init_db(settings.database_url)
    try:
        registered = await make_account(await make_member(member_no="00000011"))
        await make_member(member_no="00000012", status=MemberStatus.WITHDRAWN)
    finally:
        await db.close_db()
    out = tmp_path / "one.csv"
    # A registered member may get a new one (lost address and password).
    assert (
        await cmd_initial_passwords(args("--out", str(out), "--member-no", "00000011"), settings)
        == 0
    )
    assert "00000011" in out.read_text(encoding="utf-8-sig")
    assert registered.id
    both = tmp_path / "both.csv"
    several = args("--out", str(both), "--member-no", "00000011", "００００００１３")
    assert several.member_no == ["00000011", "００００００１３"]
    # An existing file is never overwritten; unknown or withdrawn numbers write nothing.
    assert await cmd_initial_passwords(args("--out", str(out)), settings) == 2
    missing = tmp_path / "missing.csv"
    assert (
        await cmd_initial_passwords(
            args("--out", str(missing), "--member-no", "12345678"), settings
        )
        == 1
    )
    assert (
        await cmd_initial_passwords(
            args("--out", str(missing), "--member-no", "00000012"), settings
        )
        == 1
    )
    assert not missing.exists()
