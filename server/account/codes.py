"""Authentication codes (認証コード): six digits, mailed, ten minutes, five tries, used once."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.models import Model

from server.account.models import AuthCode, CodePurpose
from server.errors import DomainError
from server.lib.text import digits_only

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5


class CodeError(DomainError):
    """The code was not accepted; the message says what to do."""


class CodeDead(CodeError):
    """No usable code any more (expired, used, or too many tries): a new one is needed."""


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


async def check_code(
    purpose: CodePurpose, flow_hash: str, entered: str, now: datetime, secret_key: str
) -> AuthCode:
    """Accept the code once, or count the failure; raises CodeError/CodeDead."""
    digits = digits_only(entered)
    if len(digits) != CODE_DIGITS:
        raise CodeError("認証コードは、メールに記載の6桁の数字で入力してください。")
    row = (
        await AuthCode.filter(purpose=purpose, flow_hash=flow_hash, used_at=None)
        .order_by("-created_at", "-id")
        .first()
    )
    used = None if row is None else await spend_try(AuthCode, row.id, now)
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
