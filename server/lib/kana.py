"""Kana as Japanese keyboards type it: hiragana or katakana, half or full width, spaced or not."""

from __future__ import annotations

import unicodedata

# ぁ (U+3041) .. ゖ (U+3096) sit exactly 0x60 below ァ (U+30A1) .. ヶ (U+30F6).
_HIRAGANA = (0x3041, 0x3096)
_KATAKANA = (0x30A1, 0x30F6)
_SHIFT = 0x60


def to_katakana(text: str) -> str:
    """Hiragana to katakana (やまだ -> ヤマダ); everything else unchanged."""
    low, high = _HIRAGANA
    return "".join(chr(ord(ch) + _SHIFT) if low <= ord(ch) <= high else ch for ch in text)


def to_hiragana(text: str) -> str:
    """Katakana to hiragana (ヤマダ -> やまだ); everything else unchanged."""
    low, high = _KATAKANA
    return "".join(chr(ord(ch) - _SHIFT) if low <= ord(ch) <= high else ch for ch in text)


def without_spaces(text: str) -> str:
    """Drop every space, half- or full-width (山田　花子 -> 山田花子)."""
    return "".join(text.split())


def kana_key(text: str) -> str:
    """The form names and kana are compared in: NFKC (ﾔﾏﾀﾞ -> ヤマダ), katakana, no spaces."""
    return without_spaces(to_katakana(unicodedata.normalize("NFKC", text)))
