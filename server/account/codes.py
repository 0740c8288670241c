"""Authentication codes (認証コード): six digits, mailed, ten minutes, five tries, used once.

Per member and purpose, at most five codes are mailed in an hour and ten
wrong codes an hour (across all of them) stop the checks (ASVS 6.6.3).
"""

from __future__ import annotations

import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from server.account.models import AuthCode, CodePurpose
from server.errors import DomainError
from server.lib.text import digits_only
from server.members.models import Member

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Per member and purpose: each code brings five tries, so without these a
# stolen password would buy five guesses at every sign-in (ASVS 6.6.3).
CODE_WINDOW = timedelta(hours=1)
CODES_PER_WINDOW = 5
WRONG_PER_WINDOW = 10


class CodeError(DomainError):
    """The code was not accepted; the message says what to do."""


class CodeDead(CodeError):
    """No usable code any more (expired, used, or too many tries): a new one is needed."""


class TooManyCodes(CodeError):
    """Five codes were mailed within the hour: no new one until the oldest is an hour old."""

    status = 429

    def __init__(self, retry_at: datetime, now: datetime) -> None:
        super().__init__(
            "認証コードの送信が続いたため、新しい認証コードをお送りできません。"
            f"しばらくしてから（{minutes_until(retry_at, now)}分後に）もう一度お試しください。"
        )
        self.retry_at = retry_at


class TooManyWrongCodes(CodeDead):
    """Ten wrong codes within the hour: no code is checked for this member for a while."""

    status = 429

    def __init__(self, retry_at: datetime, now: datetime) -> None:
        super().__init__(
            "認証コードの誤りが続いたため、安全のため認証コードの確認を一時的に止めています。"
            f"しばらくしてから（{minutes_until(retry_at, now)}分後に）"
            "もう一度ログインしてください。"
        )
        self.retry_at = retry_at


@dataclass(frozen=True)
class CodeCap:
    """The hour's codes are all spent: when the next may go, and the oldest code counted."""

    retry_at: datetime
    oldest_id: int


def minutes_until(when: datetime, now: datetime) -> int:
    """Whole minutes from now until `when`, at least one (what the member is told to wait)."""
    return max(1, math.ceil((when - now).total_seconds() / 60))


def _window(purpose: CodePurpose, member_id: int, now: datetime) -> QuerySet[AuthCode]:
    return AuthCode.filter(purpose=purpose, member_id=member_id, created_at__gt=now - CODE_WINDOW)


async def lock_member_codes(member_id: int) -> None:
    """Serialise one member's code issues and checks (call inside a transaction).

    The member row is locked FOR NO KEY UPDATE (PostgreSQL); SQLite runs one
    transaction at a time anyway. Without it, concurrent requests would each
    count four codes and each mail a fifth. NO KEY: rows that merely refer to
    the member (audit events, sessions) are written meanwhile without waiting.
    """
    await Member.filter(id=member_id).select_for_update(no_key=True).first()


async def code_cap(
    purpose: CodePurpose, member_id: int, now: datetime, limit: int = CODES_PER_WINDOW
) -> CodeCap | None:
    """None while fewer than `limit` codes went out within the hour; else when the next may go."""
    window = _window(purpose, member_id, now)
    if await window.count() < limit:
        return None
    # Counted just above, under the member's lock: the oldest is there.
    oldest = await window.order_by("created_at", "id").first()
    if oldest is None:
        return None
    return CodeCap(retry_at=oldest.created_at + CODE_WINDOW, oldest_id=oldest.id)


async def wrong_codes(purpose: CodePurpose, member_id: int, now: datetime) -> int:
    """Wrong codes typed within the hour across all the member's codes of this purpose."""
    # A handful of rows at most (five codes an hour): summed here, portable to both databases.
    rows = await _window(purpose, member_id, now).values_list("attempts", "used_at")
    # Every try is spent before the compare; a used code had exactly one right one.
    return sum(int(attempts) - (used_at is not None) for attempts, used_at in rows)


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret_key: str, flow_hash: str, code: str) -> str:
    """HMAC of the code bound to its flow: six digits alone would be trivial to reverse."""
    message = f"code:{flow_hash}:{code}".encode()
    return hmac.new(secret_key.encode(), message, "sha256").hexdigest()


async def issue_code(
    purpose: CodePurpose,
    flow_hash: str,
    *,
    member_id: int,
    account_id: int | None,
    email: str,
    now: datetime,
    secret_key: str,
) -> str:
    """A fresh code for this flow (earlier ones of the flow stop working); returns the digits."""
    await AuthCode.filter(flow_hash=flow_hash, used_at=None).update(expires_at=now)
    code = new_code()
    await AuthCode.create(
        purpose=purpose,
        flow_hash=flow_hash,
        member_id=member_id,
        account_id=account_id,
        email=email,
        code_hash=code_hash(secret_key, flow_hash, code),
        attempts=0,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    return code


async def spend_try(model: type[Model], row_id: int, now: datetime) -> int | None:
    """Spend one of a live code's tries before it is compared; the tries used, or None.

    One conditional UPDATE that must change the row: requests racing each
    other each spend their own try, so however many guesses arrive at once,
    at most MAX_ATTEMPTS of them are ever compared.
    """
    spent = await model.filter(
        id=row_id, used_at=None, expires_at__gt=now, attempts__lt=MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if spent != 1:
        return None
    return await model.filter(id=row_id).first().values_list("attempts", flat=True)  # type: ignore[return-value]


async def _spend_member_try(row: AuthCode, now: datetime) -> int | None:
    """Spend a try of this code unless the member's wrong codes of the hour are used up."""
    async with in_transaction():
        await lock_member_codes(row.member_id)  # type: ignore[attr-defined]
        if await wrong_codes(row.purpose, row.member_id, now) >= WRONG_PER_WINDOW:  # type: ignore[attr-defined]
            blocked = True
        else:
            blocked = False
            used = await spend_try(AuthCode, row.id, now)
    if blocked:
        raise TooManyWrongCodes(await _wrong_codes_clear_at(row, now), now)
    return used


async def _wrong_codes_clear_at(row: AuthCode, now: datetime) -> datetime:
    # The hour is counted by the codes' creation: checks resume when the
    # oldest code with a wrong try leaves it.
    oldest = (
        await _window(row.purpose, row.member_id, now)  # type: ignore[attr-defined]
        .filter(attempts__gt=0)
        .order_by("created_at", "id")
        .first()
    )
    return (oldest.created_at if oldest is not None else now) + CODE_WINDOW


async def check_code(
    purpose: CodePurpose, flow_hash: str, entered: str, now: datetime, secret_key: str
) -> AuthCode:
    """Accept the code once, or count the failure; raises CodeError/CodeDead/TooManyWrongCodes."""
    digits = digits_only(entered)
    if len(digits) != CODE_DIGITS:
        raise CodeError("認証コードは、メールに記載の6桁の数字で入力してください。")
    row = (
        await AuthCode.filter(purpose=purpose, flow_hash=flow_hash, used_at=None)
        .order_by("-created_at", "-id")
        .first()
    )
    used = None if row is None else await _spend_member_try(row, now)
    if row is None or used is None:
        raise CodeDead(
            "認証コードの有効期限（10分）が切れたか、入力できる回数を超えました。"
            "新しい認証コードを受け取ってください。"
        )
    if not hmac.compare_digest(row.code_hash, code_hash(secret_key, flow_hash, digits)):
        left = MAX_ATTEMPTS - used
        if left <= 0:
            raise CodeDead(
                f"認証コードを{MAX_ATTEMPTS}回間違えたため、このコードは使えなくなりました。"
                "新しい認証コードを受け取ってください。"
            )
        raise CodeError(f"認証コードが正しくありません。もう一度入力してください（あと{left}回）。")
    # Single use, also when the same code is posted twice at once.
    if not await AuthCode.filter(id=row.id, used_at=None).update(used_at=now):
        raise CodeDead(
            "この認証コードはすでに使われています。新しい認証コードを受け取ってください。"
        )
    return row
