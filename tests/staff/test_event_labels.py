"""Every event the app records has a Japanese name in the access log."""

from __future__ import annotations

import re
from pathlib import Path

from server.staff.auditlog.labels import EVENT_LABELS

ROOT = Path(__file__).resolve().parents[2] / "server"
EVENT_RE = re.compile(r'^\s+[A-Z_]+ = "([a-z_]+:[a-z_]+:[a-z_]+)"', re.M)


def test_every_recorded_event_has_a_japanese_label() -> None:
    names = {m for path in ROOT.rglob("*.py") for m in EVENT_RE.findall(path.read_text())}
    assert len(names) > 40
    assert sorted(names - EVENT_LABELS.keys()) == []
