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
