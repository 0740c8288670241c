"""Password sign-in: one message for every failure, a block after repeated ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from server.audit.events import AuthEvent
from server.audit.service import Actor, record
from server.auth.models import Account, AccountState
from server.auth.passwords import password_matches
from server.auth.sessions import ended_reason
from server.config import Settings
from server.errors import DomainError
from server.lib.formatting import jdatetime
from server.lib.text import normalize_email
from server.mail.compose import enqueue_mail
from server.members.access import AccessEnded

MAX_EMAIL = 254
MAX_PASSWORD = 128

# One message for a wrong address, a wrong password and a blocked account, so
# the sign-in page never tells which addresses belong to members.
LOGIN_FAILED = (
    "メールアドレスまたはパスワードが正しくありません。"
    "入力内容（全角・半角、大文字・小文字）を確認してください。"
    "続けて間違えた場合は、しばらくの間ログインできなくなります。"
)


class LoginFailed(DomainError):
    """Sign-in refused; the message never says which part was wrong."""

    status = 400

    def __init__(self) -> None:
        super().__init__(LOGIN_FAILED)


class LoginInputError(DomainError):
    """The form itself is unusable (empty or overlong); nothing was checked."""


@dataclass(frozen=True)
class BlockPolicy:
    """Blocking after consecutive failures, doubling per block, capped."""

    max_failures: int = 5
    first_block: timedelta = timedelta(minutes=15)
    longest_block: timedelta = timedelta(minutes=60)

    def duration(self, block_count: int) -> timedelta:
        """Length of the block number `block_count` (0 for the first)."""
        return min(self.first_block * (2 ** min(block_count, 16)), self.longest_block)


def check_login_input(email: str, password: str) -> str:
    """Refuse empty or overlong fields before any work; return the normalised email."""
    if not email.strip() or not password:
        raise LoginInputError("メールアドレスとパスワードを入力してください。")
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        raise LoginInputError(
            f"入力が長すぎます。メールアドレスは{MAX_EMAIL}文字以内、"
            f"パスワードは{MAX_PASSWORD}文字以内で入力してください。"
        )
    return normalize_email(email)


async def find_account(address: str) -> Account | None:
    """The account with this (normalised) sign-in address, its member loaded with it."""
    return await Account.filter(email=address).select_related("member").first()


async def authenticate(
    email: str,
    password: str,
    now: datetime,
    policy: BlockPolicy,
    actor: Actor,
    settings: Settings,
) -> Account:
    """Check an email and password; count failures, block (mailing the owner), audit it all."""
    address = check_login_input(email, password)
    account = await find_account(address)
    # A stopped account is checked like any other, so that its owner (and only
    # they, with the right password) learns below how to come back.
    password_hash = account.password_hash if account is not None else None
    # The hash is always computed, also for unknown or blocked accounts, so
    # response time tells nothing about which addresses are members.
    # Passwords are chosen and checked NFKC-normalised (ａｂｃ１２３ is abc123).
    ok = await password_matches(password_hash, password)
    if account is None:
        await record(AuthEvent.LOGIN_FAILURE, actor, now, reason="unknown_or_unusable")
        raise LoginFailed()
    who = actor.as_member(account)
    if account.blocked_until is not None and now < account.blocked_until:
        await record(AuthEvent.LOGIN_BLOCKED, who, now, until=account.blocked_until.isoformat())
        raise LoginFailed()
    if not ok:
        if account.state != AccountState.ACTIVE:
            await record(AuthEvent.LOGIN_FAILURE, who, now, reason="unknown_or_unusable")
            raise LoginFailed()
        await _count_failure(account, now, policy, who, settings)
        raise LoginFailed()
    # Only after the right password, so this says nothing to someone guessing.
    ended = ended_reason(account, account.member, now, settings.coop_free_dial)
    if ended:
        await record(AuthEvent.LOGIN_FAILURE, who, now, reason="access_ended")
        raise AccessEnded(ended)
    account.failed_count = 0
    account.block_count = 0
    account.blocked_until = None
    # last_login_at is set when the session starts (start_session), not here:
    # a right password alone, still waiting for its code, is no sign-in.
    await account.save(update_fields=["failed_count", "block_count", "blocked_until"])
    await record(AuthEvent.LOGIN_PASSWORD_OK, who, now, method="password")
    return account


def _not_blocked(now: datetime) -> Q:
    return Q(blocked_until=None) | Q(blocked_until__lte=now)


async def _count_failure(
    account: Account, now: datetime, policy: BlockPolicy, who: Actor, settings: Settings
) -> None:
    # Counted in the database, not from the row read before the (slow) hash:
    # concurrent wrong passwords are each counted, one of them starts the
    # block, and those still in flight once it started count for nothing, so
    # the owner gets one mail per block.
    counting = Account.filter(_not_blocked(now), id=account.id)
    if not await counting.update(failed_count=F("failed_count") + 1):
        await record(AuthEvent.LOGIN_BLOCKED, who, now)
        return
    counted = await Account.filter(id=account.id).first()
    if counted is None:  # deleted meanwhile (re-registration, staff): nothing to block
        return
    await record(
        AuthEvent.LOGIN_FAILURE, who, now, reason="password", failures=counted.failed_count
    )
    if counted.failed_count < policy.max_failures:
        return
    until = now + policy.duration(counted.block_count)
    async with in_transaction():
        started = await Account.filter(
            _not_blocked(now), id=account.id, failed_count__gte=policy.max_failures
        ).update(blocked_until=until, block_count=counted.block_count + 1, failed_count=0)
        if not started:
            return
        await record(
            AuthEvent.ACCOUNT_BLOCK,
            who,
            now,
            until=until.isoformat(),
            block=counted.block_count + 1,
        )
        # Told to the owner only: the sign-in page says nothing more, so a block
        # looks like any other failure to someone trying addresses.
        await enqueue_mail(
            account.email,
            "account_blocked",
            settings,
            now,
            name=account.member.name,
            failures=policy.max_failures,
            blocked_at=jdatetime(now),
            until=jdatetime(until),
        )


async def unblock(account: Account, now: datetime, actor: Actor) -> None:
    """Lift a block (password reset, staff) and forget counted failures."""
    account.failed_count = 0
    account.blocked_until = None
    await account.save(update_fields=["failed_count", "blocked_until"])
    await record(AuthEvent.ACCOUNT_UNBLOCK, actor, now)
