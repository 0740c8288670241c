"""The card signing key: `mypage card-keys`, a configured key, and a rollover with a retired key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from server.card.certificates import verify_code
from server.card.cose import key_id
from server.card.keys import CardKeyError, load_keyring
from server.config import Settings
from tests.card.device import Device
from tests.card.test_credential import signed_in

ROOT = Path(__file__).resolve().parents[2]


def card_keys(tmp_path: Path) -> tuple[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "server", "card-keys"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "MYPAGE_ENV": "test", "MYPAGE_DATA_DIR": str(tmp_path)},
    )
    kid = re.search(r"kid: ([0-9a-f]{16})", result.stderr)
    assert kid, result.stderr
    return result.stdout, kid.group(1)


def test_card_keys_prints_a_pem_and_its_kid(tmp_path: Path) -> None:
    pem, kid = card_keys(tmp_path)
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert key_id(key.public_key()) == kid  # type: ignore[arg-type]
    assert card_keys(tmp_path)[1] != kid


def test_production_needs_a_configured_key(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path)
    with pytest.raises(CardKeyError, match="MYPAGE_CARD_SIGNING_KEY"):
        load_keyring(settings)
    assert not (tmp_path / "card_signing_key.pem").exists()


async def test_cards_signed_by_a_retired_key_keep_verifying(
    app, client, clock, settings, tmp_path
) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    old_kid = load_keyring(settings).kid
    old_file = settings.data_dir / "card_signing_key.pem"
    new_pem, new_kid = card_keys(tmp_path)
    new_file = tmp_path / "new.pem"
    new_file.write_text(new_pem)
    code = device.code(clock.now)
    # Rolled over without the old key listed: its cards no longer verify ...
    bare = load_keyring(settings.replace(card_signing_key=str(new_file)))
    assert bare.kid == new_kid
    assert (await verify_code(code, clock.now, bare)).reason == "unknown_key"
    # ... with it listed as retired, they do, and both keys are published.
    kept = load_keyring(
        settings.replace(card_signing_key=str(new_file), card_retired_keys=(str(old_file),))
    )
    assert (await verify_code(code, clock.now, kept)).valid
    assert [key["kid"] for key in kept.jwks()["keys"]] == [new_kid, old_kid]
