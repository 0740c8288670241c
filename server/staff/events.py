"""Audit events of the staff console's own sign-in and accounts."""

from __future__ import annotations

from enum import StrEnum


class StaffEvent(StrEnum):
    """Staff sign-in and account events, named area:subject:action."""

    LOGIN_SUCCESS = "staff:login:success"
    LOGIN_FAILURE = "staff:login:failure"
    LOGOUT = "staff:session:logout"
    SESSION_EXPIRED = "staff:session:expired"
    ACCOUNT_CREATE = "staff:account:create"
    ACCOUNT_UPDATE = "staff:account:update"
    SETUP_LINK_SEND = "staff:setup_link:send"
    SETUP_LINK_FAILURE = "staff:setup_link:failure"
    PASSKEY_ADD = "staff:passkey:add"
    PASSKEY_ADD_FAILURE = "staff:passkey:add_failure"
    PASSKEY_REMOVE = "staff:passkey:remove"
