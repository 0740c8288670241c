"""The requests package's public surface: what its routes and other packages call.

The rules live in the inner modules (changes, email_change, stop, and notify
for their mails) and are used through here; the tables stay in models.py and
the audit events in the catalogue, audit/events.py.
"""

from __future__ import annotations

from server.requests.changes import (
    FIELD_LABELS,
    GROUP_FIELDS,
    GROUP_LABELS,
    MAX_COMMENT,
    OPEN_STATES,
    STATE_LABELS,
    ChangeInputError,
    ChangeView,
    comparable,
    current_values,
    member_change_requests,
    pending_values,
    set_change_state,
    split_name,
    submit_changes,
    view,
)
from server.requests.email_change import (
    EmailChangeError,
    confirm_email_change,
    pending_email_change,
    start_email_change,
)
from server.requests.stop import (
    StopError,
    fee_with_tax,
    stop_service,
)

__all__ = [
    "FIELD_LABELS",
    "GROUP_FIELDS",
    "GROUP_LABELS",
    "MAX_COMMENT",
    "OPEN_STATES",
    "STATE_LABELS",
    "ChangeInputError",
    "ChangeView",
    "EmailChangeError",
    "StopError",
    "comparable",
    "confirm_email_change",
    "current_values",
    "fee_with_tax",
    "member_change_requests",
    "pending_email_change",
    "pending_values",
    "set_change_state",
    "split_name",
    "start_email_change",
    "stop_service",
    "submit_changes",
    "view",
]
