"""A member's password: the rules for choosing one, and the one check of it.

Every place that verifies a member's password (sign-in, /reauth, the passkey
re-entry, the password change) calls `password_matches`, so a password that
signs in is accepted everywhere else too (ASVS 6.2.8).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from server.errors import DomainError
from server.security import verify_password

MIN_LENGTH = 8
MAX_LENGTH = 128


class PasswordRejected(DomainError):
    """The chosen password breaks a rule; the message says which."""


def normalize_password(password: str) -> str:
    """NFKC, so ａｂｃ１２３ and abc123 are the same password (spaces kept)."""
    return unicodedata.normalize("NFKC", password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """The one check of a member's password: NFKC as chosen, hashed off the loop.

    With no hash (unknown account, passkey-only member) the same time is spent
    and the answer is False; an overlong or empty entry is False unhashed.
    """
    if not password or len(password) > MAX_LENGTH:
        return False
    return await verify_password(password_hash, normalize_password(password))


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of real breaches, as shipped with zxcvbn."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def _is_common(folded: str) -> bool:
    common = common_passwords()
    if folded in common:
        return True
    # "sunshine2026!" is "sunshine" with a year: as easy to guess.
    stem = folded.rstrip("0123456789!?.-_#$%&*@ ")
    return len(stem) >= 4 and stem in common


def check_new_password(
    password: str, confirm: str | None, *, member_no: str, email: str, coop_name: str
) -> str:
    """The normalised password if it may be used, else PasswordRejected with the reason."""
    if not password:
        raise PasswordRejected("パスワードを入力してください。")
    value = normalize_password(password)
    if confirm is not None and normalize_password(confirm) != value:
        raise PasswordRejected(
            "確認のために入力したパスワードが一致しません。もう一度入力してください。"
        )
    if len(value) < MIN_LENGTH:
        raise PasswordRejected(f"パスワードは{MIN_LENGTH}文字以上にしてください。")
    if len(value) > MAX_LENGTH:
        raise PasswordRejected(f"パスワードは{MAX_LENGTH}文字以内にしてください。")
    folded = value.casefold()
    if len(set(folded)) < 3 or _is_common(folded):
        raise PasswordRejected(
            "このパスワードはよく使われている（過去に流出したパスワードの一覧にある）ため、"
            "推測されるおそれがあり使えません。ほかの人が思いつかない言葉を組み合わせてください。"
        )
    numbers = {member_no, member_no.lstrip("0")}
    if any(len(n) >= 4 and n in folded for n in numbers):
        raise PasswordRejected("組合員番号を含むパスワードは使えません。")
    local = email.rpartition("@")[0].casefold()
    if len(local) >= 3 and local in folded:
        raise PasswordRejected("メールアドレス（@より前の部分）を含むパスワードは使えません。")
    coop = unicodedata.normalize("NFKC", coop_name).casefold()
    if coop and coop in folded:
        raise PasswordRejected(f"生協の名前（{coop_name}）を含むパスワードは使えません。")
    return value
