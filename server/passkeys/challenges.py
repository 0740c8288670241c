"""One-use WebAuthn challenges bound to a ceremony, a browser and an account (members, staff)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from server.errors import DomainError
from server.passkeys import webauthn as wa
from server.passkeys.models import WebAuthnChallenge
from server.security import token_hash

CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn's limit; stored base64url in 1400 characters


class ChallengeInvalid(DomainError):
    """The challenge is unknown, expired or already used."""

    def __init__(self) -> None:
        super().__init__("操作の有効期限が切れました。もう一度お試しください。")


async def issue_challenge(
    options: wa.Options, ceremony: str, binding: str, now: datetime, account_id: int | None = None
) -> dict[str, Any]:
    """Remember a challenge for this ceremony and browser; return the browser's options."""
    await WebAuthnChallenge.filter(expires_at__lt=now).delete()
    await WebAuthnChallenge.create(
        challenge=wa.encode(options.challenge),
        ceremony=ceremony,
        account_id=account_id,
        binding_hash=token_hash(binding),
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    return options.public_key


async def consume_challenge(
    challenge: bytes, ceremony: str, binding: str, now: datetime, account_id: int | None = None
) -> None:
    """Use up a challenge of this ceremony, browser and account; exactly once, within 5 minutes.

    One conditional UPDATE decides, so two concurrent uses cannot both win.
    """
    used = await WebAuthnChallenge.filter(
        challenge=wa.encode(challenge),
        ceremony=ceremony,
        account_id=account_id,
        binding_hash=token_hash(binding),
        consumed_at=None,
        expires_at__gt=now,
    ).update(consumed_at=now)
    if used != 1:
        raise ChallengeInvalid()


async def challenge_failure_reason(challenge: bytes, now: datetime) -> str:
    """Why a challenge was refused, for the audit log."""
    row = await WebAuthnChallenge.filter(challenge=wa.encode(challenge)).first()
    if row is None:
        return "challenge_unknown"
    if row.consumed_at is not None:
        return "challenge_replayed"
    if row.expires_at <= now:
        return "challenge_expired"
    return "challenge_mismatch"


class CeremonyFailed(Exception):
    """A registration or assertion that cannot be used; `reason` is for the audit log."""

    def __init__(self, reason: str, *, challenge_refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.challenge_refused = challenge_refused


async def _use_challenge(
    client_data_json: bytes,
    kind: str,
    ceremony: str,
    binding: str,
    now: datetime,
    owner_id: int | None,
) -> bytes:
    """The response's challenge, used up for this ceremony, browser and owner."""
    try:
        challenge = wa.challenge_of(client_data_json, kind)
    except wa.PasskeyError as error:
        raise CeremonyFailed(error.reason[:200]) from error
    try:
        await consume_challenge(challenge, ceremony, binding, now, owner_id)
    except ChallengeInvalid as error:
        reason = await challenge_failure_reason(challenge, now)
        raise CeremonyFailed(reason, challenge_refused=True) from error
    return challenge


async def verified_registration(
    credential: Any,
    ceremony: str,
    rp: wa.RelyingParty,
    binding: str,
    now: datetime,
    owner_id: int,
) -> wa.NewCredential:
    """Read a new credential, use up its challenge, verify it (members' and staff's)."""
    try:
        parsed = wa.parse_registration(credential)
    except wa.PasskeyError as error:
        raise CeremonyFailed(error.reason[:200]) from error
    data = parsed.response.client_data_json
    challenge = await _use_challenge(data, "create", ceremony, binding, now, owner_id)
    try:
        new = wa.verify_registration(rp, parsed, challenge)
    except wa.PasskeyError as error:
        raise CeremonyFailed(error.reason[:200]) from error
    if len(new.credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise CeremonyFailed("credential_id_too_long")
    return new


async def used_assertion(
    credential: Any, ceremony: str, binding: str, now: datetime, owner_id: int | None = None
) -> tuple[wa.AuthenticationCredential, bytes]:
    """Read a sign-in assertion and use up its challenge; the caller verifies the signature."""
    try:
        parsed = wa.parse_authentication(credential)
    except wa.PasskeyError as error:
        raise CeremonyFailed(error.reason[:200]) from error
    data = parsed.response.client_data_json
    return parsed, await _use_challenge(data, "get", ceremony, binding, now, owner_id)
