"""The adapter around py_webauthn: our exceptions, UV required, counter regressions."""

from __future__ import annotations

import pytest

from server.passkeys import webauthn as wa
from tests.passkeys.softauthn import GOOGLE_PM, SoftAuthenticator

RP = wa.RelyingParty.from_base_url("http://localhost", "生協 マイページ")


def _register(soft: SoftAuthenticator) -> tuple[wa.NewCredential, dict]:
    options = wa.registration_options(
        RP, user_handle=b"h" * 32, user_name="a@example.jp", display_name="山田", exclude=[]
    )
    response = soft.create(options.public_key)
    parsed = wa.parse_registration(response)
    return wa.verify_registration(RP, parsed, options.challenge), response


def test_relying_party_comes_from_the_base_url() -> None:
    rp = wa.RelyingParty.from_base_url("https://mypage.example.jp:8443/x", "n")
    assert rp.id == "mypage.example.jp"
    assert rp.origin == "https://mypage.example.jp:8443"
    with pytest.raises(ValueError):
        wa.RelyingParty.from_base_url("localhost", "n")


def test_registration_options_ask_for_a_discoverable_verified_credential() -> None:
    options = wa.registration_options(
        RP, user_handle=b"h" * 32, user_name="a@example.jp", display_name="山田", exclude=[b"x"]
    )
    selection = options.public_key["authenticatorSelection"]
    assert selection["residentKey"] == "required"
    assert selection["userVerification"] == "required"
    assert options.public_key["rp"]["id"] == "localhost"
    assert options.public_key["excludeCredentials"] == [{"id": "eA", "type": "public-key"}]
    assert len(options.challenge) >= 32
    assert wa.decode(options.public_key["challenge"]) == options.challenge


def test_two_option_sets_never_share_a_challenge() -> None:
    first = wa.authentication_options(RP)
    second = wa.authentication_options(RP)
    assert first.challenge != second.challenge
    assert first.public_key["userVerification"] == "required"


def test_verified_registration_gives_what_we_store() -> None:
    new, _ = _register(SoftAuthenticator())
    assert new.aaguid == GOOGLE_PM
    assert new.backup_eligible and new.backed_up and new.user_verified
    assert new.transports == ["internal", "hybrid"]


def test_registration_without_user_verification_is_rejected() -> None:
    with pytest.raises(wa.RegistrationRejected) as caught:
        _register(SoftAuthenticator(user_verified=False))
    assert "verif" in caught.value.reason.lower()


def test_registration_from_another_origin_is_rejected() -> None:
    soft = SoftAuthenticator(origin="http://evil.example")
    with pytest.raises(wa.RegistrationRejected):
        _register(soft)


@pytest.mark.parametrize("bad", ["not json", "[]", {"id": 1}, {"id": "x", "rawId": "x"}])
def test_malformed_responses_raise_our_exception(bad: object) -> None:
    with pytest.raises(wa.MalformedCredential):
        wa.parse_registration(bad)
    with pytest.raises(wa.MalformedCredential):
        wa.parse_authentication(bad)
    assert issubclass(wa.MalformedCredential, wa.PasskeyError)


def test_challenge_is_read_only_from_the_right_ceremony() -> None:
    soft = SoftAuthenticator()
    _, response = _register(soft)
    parsed = wa.parse_registration(response)
    assert wa.challenge_of(parsed.response.client_data_json, "create")
    with pytest.raises(wa.MalformedCredential):
        wa.challenge_of(parsed.response.client_data_json, "get")


def _sign_in(soft: SoftAuthenticator, new: wa.NewCredential, stored: int, **get: object):
    options = wa.authentication_options(RP)
    parsed = wa.parse_authentication(soft.get(options.public_key, **get))  # type: ignore[arg-type]
    return wa.verify_authentication(
        RP, parsed, options.challenge, public_key=new.public_key, stored_sign_count=stored
    )


def test_assertion_verifies_and_reports_the_new_counter() -> None:
    soft = SoftAuthenticator()
    new, _ = _register(soft)
    assertion = _sign_in(soft, new, stored=0)
    assert assertion.sign_count == 1 and assertion.user_verified
    assert assertion.credential_id == new.credential_id


def test_counter_regression_is_its_own_exception() -> None:
    soft = SoftAuthenticator()
    new, _ = _register(soft)
    with pytest.raises(wa.SignCountRegression) as caught:
        _sign_in(soft, new, stored=10, sign_count=7)
    assert (caught.value.stored, caught.value.presented) == (10, 7)
    assert isinstance(caught.value, wa.AuthenticationRejected)


def test_counters_that_stay_zero_are_fine() -> None:
    # Synced passkeys (iCloud, Google) always send 0.
    soft = SoftAuthenticator(counter_step=0)
    new, _ = _register(soft)
    assert _sign_in(soft, new, stored=0).sign_count == 0


def test_assertion_without_user_verification_is_rejected() -> None:
    soft = SoftAuthenticator()
    new, _ = _register(soft)
    soft.user_verified = False
    with pytest.raises(wa.AuthenticationRejected) as caught:
        _sign_in(soft, new, stored=0)
    assert not isinstance(caught.value, wa.SignCountRegression)


def test_assertion_signed_by_another_key_is_rejected() -> None:
    soft = SoftAuthenticator()
    new, _ = _register(soft)
    other, _ = _register(SoftAuthenticator())
    with pytest.raises(wa.AuthenticationRejected):
        _sign_in(soft, other, stored=0)
    assert new.public_key != other.public_key
