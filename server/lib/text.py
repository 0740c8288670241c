"""Normalising what members type on Japanese keyboards."""

from __future__ import annotations

import unicodedata


def nfkc(value: str) -> str:
    """Full-width letters and digits to half-width (ＡＢＣ＠１２３ -> ABC@123), trimmed."""
    return unicodedata.normalize("NFKC", value).strip()


def normalize_email(value: str) -> str:
    """The form an email address is stored and looked up in."""
    return nfkc(value).casefold()


def digits_only(value: str) -> str:
    """Member numbers, phone numbers and codes: NFKC, then drop separators."""
    return "".join(ch for ch in nfkc(value) if ch.isdigit())


MAX_EMAIL = 254
MAX_LOCAL_PART = 64
# What would let one field name several recipients (a list, a display name,
# a comment, a quoted or bracketed part) is refused outright.
NOT_IN_ADDRESS = frozenset(',;<>"()[]\\')
EMAIL_FORMAT = (
    "メールアドレスの形式が正しくありません。「hanako@example.jp」のように入力してください。"
)
EMAIL_ONE_ONLY = (
    "メールアドレスは1つだけ入力してください。"
    '「,」「;」「<」「>」「"」「(」「)」などの記号や空白は使えません。'
)


class AddressInvalid(ValueError):
    """Not exactly one usable address; `message` is the Japanese sentence to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def email_problem(address: str) -> str | None:
    """Why `address` is not exactly one plain address (the sentence to show), or None."""
    if not address:
        return "メールアドレスを入力してください。"
    for ch in address:
        # Whitespace, control and invisible format characters (category C*) included.
        if ch in NOT_IN_ADDRESS or ch.isspace() or unicodedata.category(ch).startswith("C"):
            return EMAIL_ONE_ONLY
    local, _, domain = address.partition("@")
    labels = domain.split(".")
    if (
        len(address) > MAX_EMAIL
        or not local
        or len(local) > MAX_LOCAL_PART
        or "@" in domain
        or len(labels) < 2
        or not all(labels)
    ):
        return EMAIL_FORMAT
    return None


def valid_email(value: str) -> str:
    """The one address typed, normalised (NFKC, case-folded); raises AddressInvalid.

    Every address that comes in (registration, email change, staff accounts,
    member imports) goes through here, so none can carry a list of recipients.
    """
    address = normalize_email(value)
    problem = email_problem(address)
    if problem is not None:
        raise AddressInvalid(problem)
    return address
