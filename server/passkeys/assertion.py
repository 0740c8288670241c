"""One use of a passkey, checked the same way whoever signs in (a member or a clerk).

The caller says who signs in with a `Signer`: the passkey model and its relation to
its owner, whether that owner may sign in, the owner's user handle, the actor the
log names, the event for a counter that went backwards and the errors to raise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, cast

from tortoise.models import Model

from server.audit.service import Actor, record
from server.errors import DomainError
from server.passkeys import webauthn as wa
from server.passkeys.challenges import CeremonyFailed, ChallengeInvalid, used_assertion

Key = TypeVar("Key", bound=Model)
Owner = TypeVar("Owner", bound=Model)


class StoredPasskey(Protocol):
    """What every passkey model keeps that checking a use of it reads."""

    pk: Any
    public_key: bytes
    sign_count: int


@dataclass(frozen=True)
class Signer(Generic[Key, Owner]):
    """Who signs in with a passkey, and what checking one use of it needs to know about them."""

    model: type[Key]
    # The passkey's relation to its owner ("account"), and what to read with the passkey.
    owner: str
    related: str
    # Why this owner may not sign in now (for the log), or None if they may.
    refusal: Callable[[Owner], str | None]
    user_handle: Callable[[Owner, datetime], Awaitable[bytes]]
    as_actor: Callable[[Actor, Owner], Actor]
    counter_regression: StrEnum
    failed: Callable[[], DomainError]
    unknown: Callable[[], DomainError]
    cloned: Callable[[], DomainError]
    # Whether the passkey model keeps the authenticator's backup flags.
    backup_flags: bool = False


async def verified_use(
    signer: Signer[Key, Owner],
    credential: Any,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    actor: Actor,
    *,
    ceremony: str,
    failure: StrEnum,
    owner_id: int | None = None,
) -> tuple[Key, Owner]:
    """Check one use of a passkey (given `owner_id`, one of theirs) and record it on the passkey."""
    who = actor
    try:
        parsed, challenge = await used_assertion(credential, ceremony, binding, now, owner_id)
    except CeremonyFailed as error:
        await record(failure, who, now, reason=error.reason)
        raise (ChallengeInvalid() if error.challenge_refused else signer.failed()) from error
    passkey = (
        await signer.model.filter(credential_id=wa.encode(parsed.raw_id))
        .select_related(signer.related)
        .first()
    )
    if passkey is None or (
        owner_id is not None and getattr(passkey, f"{signer.owner}_id") != owner_id
    ):
        await record(failure, who, now, reason="unknown_credential")
        raise signer.unknown()
    owner: Owner = getattr(passkey, signer.owner)
    who = signer.as_actor(actor, owner)
    refused = signer.refusal(owner)
    if refused is not None:
        await record(failure, who, now, reason=refused)
        raise signer.failed()
    handle = parsed.response.user_handle
    if handle is not None and handle != await signer.user_handle(owner, now):
        await record(failure, who, now, reason="user_handle_mismatch")
        raise signer.failed()
    stored = cast(StoredPasskey, passkey)
    try:
        assertion = wa.verify_authentication(
            rp,
            parsed,
            challenge,
            public_key=bytes(stored.public_key),
            stored_sign_count=stored.sign_count,
        )
    except wa.SignCountRegression as error:
        await record(
            signer.counter_regression,
            who,
            now,
            passkey_id=stored.pk,
            stored=error.stored,
            presented=error.presented,
        )
        raise signer.cloned() from error
    except wa.PasskeyError as error:
        await record(failure, who, now, passkey_id=stored.pk, reason=error.reason[:200])
        raise signer.failed() from error
    changes: dict[str, Any] = {"sign_count": assertion.sign_count, "last_used_at": now}
    if signer.backup_flags:
        changes |= {"backup_eligible": assertion.backup_eligible, "backed_up": assertion.backed_up}
    # Compare-and-set on the counter: of two concurrent uses of one assertion, one wins.
    unchanged = signer.model.filter(id=stored.pk, sign_count=stored.sign_count)
    updated = await unchanged.update(**changes)
    if updated != 1:
        await record(failure, who, now, reason="concurrent_use")
        raise signer.failed()
    return passkey, owner
