"""Every event the app records has a Japanese name in the access log."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from server.audit import events
from server.audit.events import STAFF_LABELS, Label
from server.staff.auditlog.labels import AREA_LABELS, event_label

ROOT = Path(__file__).resolve().parents[2] / "server"
EVENT_RE = re.compile(r'^\s+[A-Z_]+ = "([a-z_]+:[a-z_]+:[a-z_]+)"', re.M)


def test_every_recorded_event_has_a_japanese_label() -> None:
    names = {m for path in ROOT.rglob("*.py") for m in EVENT_RE.findall(path.read_text())}
    assert len(names) > 40
    assert sorted(names - STAFF_LABELS.keys()) == []


def test_every_event_in_the_catalogue_has_a_staff_label() -> None:
    kinds = [
        kind
        for kind in vars(events).values()
        if isinstance(kind, type) and issubclass(kind, StrEnum) and kind is not StrEnum
    ]
    names = [event for kind in kinds for event in kind]
    assert len(kinds) > 20
    assert len(names) == len(set(names)), "an event name is defined twice"
    assert [str(name) for name in names if not events.LABELS.get(name, Label("")).staff] == []
    assert len(events.LABELS) == len(names), "a label for a name no event class defines"
    for label in events.LABELS.values():
        # A member list at most: the security history (with or without the method) or the views.
        assert len([text for text in (label.timeline, label.sign_in, label.view) if text]) <= 1


def test_every_area_of_the_catalogue_has_a_japanese_name() -> None:
    """The access log's area filter names each area in Japanese (card:... was shown raw)."""
    areas = {str(name).split(":")[0] for name in events.LABELS}
    assert sorted(areas - AREA_LABELS.keys()) == []
    assert event_label("card:") == "デジタル組合員証（すべて）"
