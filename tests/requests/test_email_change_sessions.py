"""Changing the sign-in address ends the other sessions and remembered browsers."""

from __future__ import annotations

import re

from server.account.models import RememberedBrowser
from server.auth.models import Session
from tests.factories import PASSWORD, make_account
from tests.helpers import login, post_form


async def test_changing_the_address_ends_other_sign_ins(app, client, mails) -> None:
    """ASVS 7.4.3: a new sign-in address ends the other sessions and remembered browsers."""
    account = await make_account(email="hanako@example.jp")
    other = app.test_client()
    await login(other, "hanako@example.jp")  # another phone, remembered
    await login(client, "hanako@example.jp")  # this browser, remembered
    assert await Session.filter(account_id=account.id).count() == 2
    assert await RememberedBrowser.filter(account_id=account.id).count() == 2
    await mails.clear()
    await post_form(client, "/reauth", {"password": PASSWORD, "next": "/"}, token_from="/reauth")
    await post_form(client, "/profile/change/email", {"email": "hana@new.jp"})
    code = re.search(r"認証コード：(\d{6})", (await mails.to("hana@new.jp"))[0].body)
    assert code is not None
    ok = await post_form(client, "/profile/change/email/verify", {"code": code.group(1)})
    assert ok.status_code == 303
    # This browser stays signed in and remembered; the other phone is signed out.
    assert (await client.get("/settings")).status_code == 200
    response = await other.get("/settings")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert await Session.filter(account_id=account.id).count() == 1
    assert await RememberedBrowser.filter(account_id=account.id).count() == 1
    # The other phone must pass a mailed code again at its next sign-in.
    response = await post_form(other, "/login", {"email": "hana@new.jp", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login/code")
