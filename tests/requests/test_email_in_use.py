"""The email-change form does not tell whether an address is a member's (issue 15, defect 5).

A taken address gets the very answer a free one gets (a pending change and
the code page); no code goes to it, only a short notice to its owner; the
change is refused at confirmation if the address is taken by then.
"""

from __future__ import annotations

import re

from quart import Quart

from server.auth.models import Account
from server.requests.models import EmailChange
from tests.factories import PASSWORD, make_account, make_member
from tests.helpers import login, page, post_form
from tests.requests.conftest import Mails

CODE_RE = re.compile(r"認証コード：(\d{6})")


async def start_change(app: Quart, email: str, new_address: str) -> tuple[object, str, str]:
    """A signed-in member asks to change to `new_address`: the answer, its page, the client."""
    client = app.test_client()
    await make_account(await make_member(name="山田 花子"), email=email)
    await login(client, email)
    await post_form(client, "/reauth", {"password": PASSWORD, "next": "/"}, token_from="/reauth")
    response = await post_form(client, "/profile/change/email", {"email": new_address})
    _, html = await page(client, response.headers.get("Location", "/profile/change/email"))
    return client, str(response.status_code) + " " + response.headers.get("Location", ""), html


def comparable(html: str, address: str) -> str:
    """The page with what legitimately differs (the address typed, the CSRF token) blanked."""
    html = html.replace(address, "ADDRESS")
    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]+"', r"\1=''", html)


async def test_a_taken_and_a_free_address_look_the_same(app: Quart, mails: Mails) -> None:
    owner = await make_account(email="taken@example.jp")
    _, free_answer, free_page = await start_change(app, "hanako@example.jp", "free@example.jp")
    _, taken_answer, taken_page = await start_change(app, "taro@example.jp", "taken@example.jp")
    assert free_answer == taken_answer == "303 /profile/change/email/verify"
    assert comparable(free_page, "free@example.jp") == comparable(taken_page, "taken@example.jp")
    assert "6桁の認証コードをお送りしました" in taken_page
    # What went out: a code to the free address; to the taken one a notice without a code.
    [code_mail] = await mails.to("free@example.jp")
    assert CODE_RE.search(code_mail.body)
    [notice] = await mails.to("taken@example.jp")
    assert notice.subject == "【群馬県学校生協】メールアドレスについてのお知らせ"
    assert "変更は行われていません" in notice.body
    assert not CODE_RE.search(notice.body) and not re.search(r"\d{6}", notice.body)
    assert "taro@example.jp" not in notice.body  # nothing about who tried
    await owner.refresh_from_db()
    assert owner.email == "taken@example.jp"
    assert await EmailChange.all().count() == 2


async def test_no_code_makes_a_taken_address_change_hands(app: Quart, mails: Mails) -> None:
    await make_account(email="taken@example.jp")
    client, _, _ = await start_change(app, "taro@example.jp", "taken@example.jp")
    for code in ("000000", "123456"):
        response = await post_form(client, "/profile/change/email/verify", {"code": code})
        assert response.status_code == 400
        assert "認証コードが正しくありません" in await response.get_data(as_text=True)
    assert await Account.filter(email="taken@example.jp").count() == 1
    assert await Account.filter(email="taro@example.jp").count() == 1


async def test_the_owner_is_told_at_most_once_an_hour(app: Quart, mails: Mails) -> None:
    await make_account(email="taken@example.jp")
    client, _, _ = await start_change(app, "taro@example.jp", "taken@example.jp")
    again = await post_form(client, "/profile/change/email", {"email": "taken@example.jp"})
    assert again.status_code == 303
    assert len(await mails.to("taken@example.jp")) == 1


async def test_an_address_taken_meanwhile_is_refused_at_confirmation(
    app: Quart, mails: Mails
) -> None:
    client, _, _ = await start_change(app, "hanako@example.jp", "both@example.jp")
    [mail] = await mails.to("both@example.jp")
    code = CODE_RE.search(mail.body)
    assert code is not None
    await make_account(email="both@example.jp")  # someone else got it first
    response = await post_form(client, "/profile/change/email/verify", {"code": code.group(1)})
    assert response.status_code == 400
    assert "このメールアドレスは使えません" in await response.get_data(as_text=True)
    assert await Account.filter(email="hanako@example.jp").exists()
