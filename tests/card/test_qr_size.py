"""The rotating QR's text fits QR version 15 at error level M (issue 16, item 3)."""

from __future__ import annotations

import segno

from tests.card.device import Device
from tests.card.test_credential import signed_in

# A long real-world name: 12 characters, its kana 17 (3 bytes each in UTF-8).
LONG_NAME = "勅使河原 三郎左衛門之助"
LONG_KANA = "テシガワラ サブロウザエモンノスケ"


def minimal_version(text: str) -> tuple[int, str]:
    code = segno.make_qr(text, error="m", mode="alphanumeric", boost_error=False)
    return int(code.version), str(code.error)


async def test_a_long_name_fits_version_15_m(app, client, clock) -> None:
    await signed_in(client, name=LONG_NAME, name_kana=LONG_KANA)
    device = Device()
    assert (await device.issue(client)).status_code == 201
    text = device.code(clock.now)
    assert text.startswith("CC1:")
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    version, error = minimal_version(text)
    assert error == "M" and version <= 15, (version, len(text))


async def test_a_usual_name_leaves_room(app, client, clock) -> None:
    await signed_in(client, name="群馬 花子", name_kana="グンマ ハナコ")
    device = Device()
    await device.issue(client)
    version, _ = minimal_version(device.code(clock.now))
    assert version <= 14
