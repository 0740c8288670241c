"""The account package's public surface: what its routes and other packages call.

The rules live in the inner modules (codes, devices, initial, lockdown,
registration, reset, signin) and are used through here; the
tables stay in models.py and the request-side helpers (cookies, starting a
session) in web.py. Its audit events are in the catalogue, audit/events.py.
"""

from __future__ import annotations

from server.account.codes import (
    CODE_DIGITS,
    CODE_LIFETIME,
    MAX_ATTEMPTS,
    CodeDead,
    code_hash,
    new_code,
    spend_try,
)
from server.account.devices import DEVICE_LIFETIME
from server.account.initial import (
    IssuedPassword,
    IssueError,
    issue_initial_passwords,
    members_to_issue,
    normalize_initial_password,
    write_letter_csv,
)
from server.account.lockdown import (
    LockdownResult,
    LostDeviceInputError,
    chosen_passkeys,
    lost_device,
)
from server.account.registration import (
    REGISTRATION_LIFETIME,
    RegistrationLost,
    complete_registration,
    live_registration,
    send_registration_code,
    start_registration,
    verify_registration_code,
)
from server.account.reset import live_reset, request_password_reset, reset_password
from server.account.signin import (
    LoginCodeLost,
    finish_login_code,
    forget_all_browsers,
    forget_browser,
    remember_browser,
    remembered_browsers,
)

__all__ = [
    "CODE_DIGITS",
    "CODE_LIFETIME",
    "DEVICE_LIFETIME",
    "MAX_ATTEMPTS",
    "REGISTRATION_LIFETIME",
    "CodeDead",
    "IssueError",
    "IssuedPassword",
    "LockdownResult",
    "LoginCodeLost",
    "LostDeviceInputError",
    "RegistrationLost",
    "chosen_passkeys",
    "code_hash",
    "complete_registration",
    "finish_login_code",
    "forget_all_browsers",
    "forget_browser",
    "issue_initial_passwords",
    "live_registration",
    "live_reset",
    "lost_device",
    "members_to_issue",
    "new_code",
    "normalize_initial_password",
    "remember_browser",
    "remembered_browsers",
    "request_password_reset",
    "reset_password",
    "send_registration_code",
    "spend_try",
    "start_registration",
    "verify_registration_code",
    "write_letter_csv",
]
