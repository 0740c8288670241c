"""Adding a passkey while signed in: the options, the check of the new credential, storing it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.audit.events import PasskeyEvent
from server.audit.service import Actor, record
from server.auth.models import Account, Session
from server.config import Settings
from server.lib.formatting import jdatetime
from server.mail.compose import enqueue_mail
from server.members.models import Member
from server.passkeys import webauthn as wa
from server.passkeys.challenges import (
    CeremonyFailed,
    ChallengeInvalid,
    issue_challenge,
    verified_registration,
)
from server.passkeys.models import Passkey
from server.passkeys.providers import provider_name
from server.passkeys.service import (
    MAX_PASSKEYS,
    REGISTRATION,
    PasskeyRuleError,
    RegistrationFailed,
    require_recent_auth,
    user_handle,
)


async def registration_options(
    account: Account,
    member_name: str,
    session: Session,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
) -> dict[str, Any]:
    """Options for creating a passkey, after checking the recent sign-in rule."""
    await require_recent_auth(session, now)
    existing = await Passkey.filter(account_id=account.id).values_list("credential_id", flat=True)
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyRuleError(
            f"パスキーは{MAX_PASSKEYS}個まで登録できます。使っていないものを削除してください。"
        )
    options = wa.registration_options(
        rp,
        user_handle=await user_handle(account, now),
        user_name=account.email,
        display_name=member_name,
        exclude=[wa.decode(str(cid)) for cid in existing],
    )
    return await issue_challenge(options, REGISTRATION, binding, now, account.id)


async def _default_name(account_id: int, aaguid: str) -> str:
    base = provider_name(aaguid) or "パスキー"
    names = set(await Passkey.filter(account_id=account_id).values_list("name", flat=True))
    if base not in names:
        return base
    n = 2
    while f"{base}（{n}）" in names:
        n += 1
    return f"{base}（{n}）"


async def register_passkey(
    account: Account,
    session: Session,
    credential: Any,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    actor: Actor,
    settings: Settings,
) -> Passkey:
    """Verify a new passkey against its one-use challenge and store it (audited, mailed)."""
    who = actor.as_member(account)
    failed = RegistrationFailed(
        "パスキーを登録できませんでした。もう一度お試しください。"
        "解決しない場合は、別の端末やパスワード管理アプリでお試しください。"
    )
    await require_recent_auth(session, now)
    try:
        new = await verified_registration(credential, REGISTRATION, rp, binding, now, account.id)
    except CeremonyFailed as error:
        await record(PasskeyEvent.CREDENTIAL_ADD_FAILURE, who, now, reason=error.reason)
        raise (ChallengeInvalid() if error.challenge_refused else failed) from error
    credential_id = wa.encode(new.credential_id)
    duplicate = RegistrationFailed("このパスキーはすでに登録されています。")
    if await Passkey.filter(credential_id=credential_id).exists():
        await record(PasskeyEvent.CREDENTIAL_ADD_FAILURE, who, now, reason="duplicate")
        raise duplicate
    name = await _default_name(account.id, new.aaguid)
    try:
        passkey = await _store(account, new, credential_id, name, now, who, settings)
    except IntegrityError as error:  # the same credential, registered concurrently
        await record(PasskeyEvent.CREDENTIAL_ADD_FAILURE, who, now, reason="duplicate")
        raise duplicate from error
    return passkey


async def _store(
    account: Account,
    new: wa.NewCredential,
    credential_id: str,
    name: str,
    now: datetime,
    who: Actor,
    settings: Settings,
) -> Passkey:
    async with in_transaction():
        passkey = await Passkey.create(
            account_id=account.id,
            credential_id=credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            aaguid=new.aaguid,
            name=name,
            transports=new.transports,
            backup_eligible=new.backup_eligible,
            backed_up=new.backed_up,
            created_at=now,
        )
        await record(
            PasskeyEvent.CREDENTIAL_ADD,
            who,
            now,
            passkey_id=passkey.id,
            name=name,
            aaguid=new.aaguid,
            backup_eligible=new.backup_eligible,
            backed_up=new.backed_up,
        )
        context = await passkey_added_mail(account, passkey)
        await enqueue_mail(account.email, "passkey_added", settings, now, **context)
    return passkey


async def passkey_added_mail(account: Account, passkey: Passkey) -> dict[str, Any]:
    """Context for templates/mail/passkey_added/ (subject.txt, body.txt)."""
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    return {
        "email": account.email,
        "member_name": member.name,
        "passkey_name": passkey.name,
        "provider": provider_name(passkey.aaguid),
        "added_at": jdatetime(passkey.created_at),
    }
