"""Audit events of registration, reset and the sign-in code (never with secrets in them)."""

from __future__ import annotations

from enum import StrEnum


class AccountEvent(StrEnum):
    """Events named area:subject:action."""

    INITIAL_PASSWORD_ISSUE = "account:initial_password:issue"  # noqa: S105 - an event name
    REGISTRATION_START = "account:registration:start"
    REGISTRATION_REFUSED = "account:registration:refused"
    REGISTRATION_TOO_EARLY = "account:registration:too_early"
    REGISTRATION_CODE_SENT = "account:registration:code_sent"
    REGISTRATION_EMAIL_VERIFIED = "account:registration:email_verified"
    REGISTRATION_COMPLETE = "account:registration:complete"
    CODE_FAILURE = "account:code:failure"
    RESET_REQUEST = "account:password_reset:request"
    RESET_COMPLETE = "account:password_reset:complete"
    LOGIN_CODE_SENT = "account:login_code:sent"
    LOGIN_CODE_SUCCESS = "account:login_code:success"
    LOGIN_CODE_CAPPED = "account:login_code:capped"
    CODE_CHECKS_STOPPED = "account:code:checks_stopped"
    REGISTRATION_CODE_CAPPED = "account:registration:code_capped"
    BROWSER_REMEMBER = "account:browser:remember"
    BROWSER_FORGET = "account:browser:forget"
    DEVICE_NEW = "account:device:new"
