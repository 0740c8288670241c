"""A thin adapter over py_webauthn with our own exceptions and plain results.

Nothing outside this module imports `webauthn`: the service talks in bytes,
dicts and the dataclasses below, and catches only `PasskeyError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    ClientDataType,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

# Challenges live five minutes on the server; the browser may give up at the same time.
TIMEOUT_MS = 5 * 60 * 1000
MAX_TRANSPORTS = 8
# ES256, EdDSA and PS256 only: RS256 (PKCS#1 v1.5) is refused, as ASVS 11.6.1 asks,
# and every platform authenticator members use (phones, Windows Hello, Macs) offers ES256.
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PSS_SHA_256,
]


class PasskeyError(Exception):
    """Base of everything this adapter raises; `reason` is for the audit log, not members."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedCredential(PasskeyError):
    """The browser's response is not a credential we can even read."""


class RegistrationRejected(PasskeyError):
    """A readable registration response that failed verification."""


class AuthenticationRejected(PasskeyError):
    """A readable sign-in assertion that failed verification."""


class SignCountRegression(AuthenticationRejected):
    """A correctly signed assertion whose counter went backwards: a possible cloned key."""

    def __init__(self, stored: int, presented: int) -> None:
        super().__init__(f"sign count {presented} is not above the stored {stored}")
        self.stored = stored
        self.presented = presented


@dataclass(frozen=True)
class RelyingParty:
    """Who we are to the authenticator: RP ID (a host name), display name and origin."""

    id: str
    name: str
    origin: str

    @classmethod
    def from_base_url(cls, base_url: str, name: str) -> RelyingParty:
        """RP ID is the host of MYPAGE_BASE_URL, the origin its scheme, host and port."""
        parts = urlsplit(base_url)
        if not parts.scheme or not parts.hostname:
            raise ValueError("MYPAGE_BASE_URL must be an absolute URL")
        return cls(id=parts.hostname, name=name, origin=f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class Options:
    """Options for the browser (JSON-ready) and the challenge to remember server-side."""

    public_key: dict[str, Any]
    challenge: bytes


@dataclass(frozen=True)
class NewCredential:
    """What a verified registration gives us to store."""

    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    user_verified: bool
    transports: list[str]


@dataclass(frozen=True)
class Assertion:
    """What a verified sign-in gives us to update."""

    credential_id: bytes
    sign_count: int
    backup_eligible: bool
    backed_up: bool
    user_verified: bool


def encode(value: bytes) -> str:
    """bytes -> base64url without padding (how credential IDs are stored and sent)."""
    return bytes_to_base64url(value)


def decode(value: str) -> bytes:
    """base64url -> bytes; a bad value is a malformed credential."""
    try:
        return base64url_to_bytes(value)
    except (ValueError, TypeError) as error:
        raise MalformedCredential("not base64url") from error


def registration_options(
    rp: RelyingParty,
    *,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    exclude: list[bytes],
) -> Options:
    """Options for navigator.credentials.create(): a discoverable credential, verified user."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=cid) for cid in exclude],
        supported_pub_key_algs=ALGORITHMS,
    )
    return Options(public_key=options_to_json_dict(options), challenge=options.challenge)


def authentication_options(rp: RelyingParty, *, allow: list[bytes] | None = None) -> Options:
    """Options for navigator.credentials.get(); no allow list means any discoverable passkey."""
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=cid) for cid in allow or []],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Options(public_key=options_to_json_dict(options), challenge=options.challenge)


def _as_dict(credential: Any) -> dict[str, Any]:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError as error:
            raise MalformedCredential("not JSON") from error
    if not isinstance(credential, dict):
        raise MalformedCredential("not a JSON object")
    return credential


def parse_registration(credential: Any) -> RegistrationCredential:
    """Read a registration response (PublicKeyCredential.toJSON() shape)."""
    try:
        return parse_registration_credential_json(_as_dict(credential))
    except WebAuthnException as error:
        raise MalformedCredential(str(error)) from error


def parse_authentication(credential: Any) -> AuthenticationCredential:
    """Read a sign-in assertion (PublicKeyCredential.toJSON() shape)."""
    try:
        return parse_authentication_credential_json(_as_dict(credential))
    except WebAuthnException as error:
        raise MalformedCredential(str(error)) from error


def challenge_of(client_data_json: bytes, ceremony: str) -> bytes:
    """The challenge the browser signed, so the server can look up (and consume) its copy."""
    try:
        client_data = parse_client_data_json(client_data_json)
    except Exception as error:  # the library raises several kinds for bad input
        raise MalformedCredential("clientDataJSON unreadable") from error
    expected = (
        ClientDataType.WEBAUTHN_CREATE if ceremony == "create" else ClientDataType.WEBAUTHN_GET
    )
    if client_data.type != expected:
        raise MalformedCredential(f"unexpected clientDataJSON type {client_data.type}")
    return client_data.challenge


def verify_registration(
    rp: RelyingParty, credential: RegistrationCredential, expected_challenge: bytes
) -> NewCredential:
    """Verify a registration; user verification is required (the library's default is not)."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=expected_challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
    except WebAuthnException as error:
        raise RegistrationRejected(str(error)) from error
    transports = [
        t.value if isinstance(t, AuthenticatorTransport) else str(t)
        for t in (credential.response.transports or [])
    ][:MAX_TRANSPORTS]
    return NewCredential(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
        transports=transports,
    )


def verify_authentication(
    rp: RelyingParty,
    credential: AuthenticationCredential,
    expected_challenge: bytes,
    *,
    public_key: bytes,
    stored_sign_count: int,
) -> Assertion:
    """Verify an assertion with user verification required, then check the counter.

    The library would refuse a counter regression with the same exception as a bad
    signature; we check it ourselves after the signature is known to be good, so a
    regression (a possibly cloned authenticator) can be told apart and audited.
    """
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=expected_challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except WebAuthnException as error:
        raise AuthenticationRejected(str(error)) from error
    presented = verified.new_sign_count
    if (presented > 0 or stored_sign_count > 0) and presented <= stored_sign_count:
        raise SignCountRegression(stored_sign_count, presented)
    return Assertion(
        credential_id=verified.credential_id,
        sign_count=presented,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
    )
