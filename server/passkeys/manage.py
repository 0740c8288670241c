"""A member's own passkeys in /settings: listing, renaming, removing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from server.audit.events import PasskeyEvent
from server.audit.service import Actor, record
from server.auth.models import Account, Session
from server.errors import NotFound
from server.lib.text import nfkc
from server.passkeys.models import Passkey, WebAuthnChallenge
from server.passkeys.providers import provider_name
from server.passkeys.service import PasskeyRuleError, require_recent_auth

MAX_NAME = 40


@dataclass(frozen=True)
class PasskeyView:
    """One passkey as the member sees it in /settings."""

    id: int
    name: str
    provider: str | None
    synced: bool
    backup_eligible: bool
    created_at: datetime
    last_used_at: datetime | None


async def passkeys_of(account_id: int) -> list[PasskeyView]:
    """The member's own passkeys, oldest first."""
    rows = await Passkey.filter(account_id=account_id).order_by("created_at", "id")
    return [
        PasskeyView(
            id=row.id,
            name=row.name,
            provider=provider_name(row.aaguid),
            synced=row.backed_up,
            backup_eligible=row.backup_eligible,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )
        for row in rows
    ]


async def own_passkey(account_id: int, passkey_id: int) -> Passkey:
    """One of the member's own passkeys, or 404 (another member's reads the same)."""
    passkey = await Passkey.filter(id=passkey_id, account_id=account_id).first()
    if passkey is None:
        raise NotFound("パスキーが見つかりません。")
    return passkey


def clean_name(raw: str) -> str:
    """A passkey name: NFKC, no control characters, 1 to 40 characters."""
    name = "".join(ch for ch in nfkc(raw) if ch.isprintable())
    if not name:
        raise PasskeyRuleError("パスキーの名前を入力してください。")
    if len(name) > MAX_NAME:
        raise PasskeyRuleError(f"パスキーの名前は{MAX_NAME}文字以内で入力してください。")
    return name


async def rename_passkey(
    account: Account, passkey_id: int, raw_name: str, now: datetime, actor: Actor
) -> Passkey:
    """Give one of the member's passkeys a new name (audited)."""
    passkey = await own_passkey(account.id, passkey_id)
    name = clean_name(raw_name)
    old = passkey.name
    passkey.name = name
    await passkey.save(update_fields=["name"])
    await record(
        PasskeyEvent.CREDENTIAL_RENAME,
        actor.as_member(account),
        now,
        passkey_id=passkey.id,
        old=old,
        new=name,
    )
    return passkey


async def remove_passkey(
    account: Account, session: Session, passkey_id: int, now: datetime, actor: Actor
) -> str:
    """Remove a passkey (recently confirmed), unless it is the last way in; returns its name."""
    passkey = await own_passkey(account.id, passkey_id)
    # As for adding one (ASVS 7.5.1): someone at an unlocked, signed-in phone
    # must not strip the owner's passkeys. ReauthRequired when it is too long.
    await require_recent_auth(session, now)
    if account.password_hash is None:
        if await Passkey.filter(account_id=account.id).count() <= 1:
            raise PasskeyRuleError(
                "パスワードが設定されていないため、最後のパスキーは削除できません。"
                "先に別のパスキーを追加してください。"
            )
    async with in_transaction():
        await Passkey.filter(id=passkey.id).delete()
        await record(
            PasskeyEvent.CREDENTIAL_REMOVE,
            actor.as_member(account),
            now,
            passkey_id=passkey.id,
            name=passkey.name,
        )
    return passkey.name


async def remove_all_passkeys(account_id: int) -> int:
    """Stopping the service: every passkey of the account goes (their challenges too)."""
    await WebAuthnChallenge.filter(account_id=account_id).delete()
    return await Passkey.filter(account_id=account_id).delete()
