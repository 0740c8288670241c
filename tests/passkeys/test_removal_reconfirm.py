"""Removing a passkey needs a recent sign-in or re-confirmation, without JavaScript too."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from server.passkeys.models import Passkey
from tests.factories import PASSWORD, make_account
from tests.helpers import login, page, post_form


async def _passkey_for(email: str, **fields: object) -> Passkey:
    account = await make_account(email=email, **fields)  # type: ignore[arg-type]
    return await Passkey.create(
        account=account,
        credential_id=f"cred-{account.id}",
        public_key=b"not-a-key",
        aaguid="fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
        name="iPhone",
        backup_eligible=True,
        backed_up=True,
        created_at=datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
    )


async def test_removing_a_passkey_later_asks_to_confirm_first(client, clock) -> None:
    """ASVS 7.5.1: a passkey is removed only within five minutes of a sign-in or /reauth."""
    passkey = await _passkey_for("hanako@example.jp")
    await login(client, "hanako@example.jp")
    clock.advance(minutes=6)
    path = f"/settings/passkeys/{passkey.id}/delete"
    response = await post_form(client, path, {}, token_from="/settings")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/reauth?")
    assert await Passkey.exists(id=passkey.id)
    # The plain form of /reauth, then back to the confirmation page, where 削除 now works.
    back = parse_qs(urlsplit(location).query)["next"][0]
    assert back == f"/settings/passkeys/{passkey.id}/remove"
    status, html = await page(client, location)
    assert status == 200 and 'name="password"' in html
    confirmed = await post_form(
        client, "/reauth", {"password": PASSWORD, "next": back}, token_from=location
    )
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == back
    status, html = await page(client, back)
    assert status == 200 and f'action="{path}"' in html and ">削除</button>" in html
    response = await post_form(client, path, {}, token_from=back)
    assert response.headers["Location"] == "/settings?done=passkey-removed#passkeys"
    assert not await Passkey.exists(id=passkey.id)


async def test_without_a_password_the_reauth_page_says_to_sign_in_again(client, clock) -> None:
    """ASVS 7.5.1: a passkey-only member is told how to confirm (sign in again), not asked
    for a password they do not have."""
    account = await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    await account.refresh_from_db()
    account.password_hash = None
    await account.save(update_fields=["password_hash"])
    status, html = await page(client, "/reauth?next=/settings")
    assert status == 200
    assert 'name="password"' not in html and "もう一度ログイン" in html
