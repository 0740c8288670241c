"""One address field holds one recipient, everywhere (issue 15, defect 3).

`me@x,victim1@y,victim2@z` in an address field made co-op mail (with text
the member wrote) go to every name in it. Each entry point refuses such
input with a Japanese message and changes nothing, and the SMTP channel
names exactly one envelope recipient.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from quart import Quart

from server.account.models import AuthCode, Registration
from server.audit.service import Actor
from server.auth.models import Account
from server.config import Settings
from server.imports.plan import Kind
from server.imports.reader import ImportRejected
from server.imports.service import import_file
from server.lib.clock import FrozenClock
from server.lib.text import AddressInvalid, valid_email
from server.mail.catcher import MailCatcher
from server.mail.compose import enqueue_mail
from server.members.models import Member
from server.outbox.models import OutboxMessage, OutboxStatus
from server.requests.models import EmailChange
from server.staff.models import StaffUser
from tests.account.flows import give_email, identify, issue
from tests.factories import PASSWORD, make_account, make_member
from tests.helpers import login, post_form
from tests.smtp import deliver
from tests.staff.helpers import signed_in_staff

LISTS = (
    "me@example.jp,victim1@example.com,victim2@example.net",
    "me@example.jp;victim@example.com",
    "me@example.jp victim@example.com",
    "Me <me@example.jp>",
    '"me"@example.jp',
    "me@example.jp (me)",
    "me@example.jp\r\nBcc: victim@example.com",
    "me@example.jp，victim@example.com",  # a full-width comma is a comma after NFKC
)
# The forms allow five posts a minute: the five that matter most.
HTTP_LISTS = (LISTS[0], LISTS[1], LISTS[3], LISTS[6], LISTS[7])
ONE_ONLY = "メールアドレスは1つだけ入力してください"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("value", LISTS)
def test_the_one_validator_refuses_every_list_form(value: str) -> None:
    with pytest.raises(AddressInvalid) as caught:
        valid_email(value)
    assert ONE_ONLY in caught.value.message


def test_the_one_validator_normalises_one_address() -> None:
    assert valid_email(" ＨＡＮＡＫＯ＠ｅｘａｍｐｌｅ．ｊｐ ") == "hanako@example.jp"
    for bad in ("", "hanako", "hanako@example", "a@@example.jp", "a@example..jp"):
        with pytest.raises(AddressInvalid):
            valid_email(bad)


async def test_registration_refuses_a_list_of_addresses(client, clock: FrozenClock) -> None:
    member = await make_member()
    assert (await identify(client, member, await issue(member, clock()))).status_code == 303
    for value in HTTP_LISTS:
        response = await give_email(client, value)
        assert response.status_code == 400, value
        assert ONE_ONLY in await response.get_data(as_text=True)
    assert await AuthCode.all().count() == 0
    assert (await Registration.get()).email is None
    assert await OutboxMessage.all().count() == 0


async def test_email_change_refuses_a_list_of_addresses(client) -> None:
    account = await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    await post_form(client, "/reauth", {"password": PASSWORD, "next": "/"}, token_from="/reauth")
    queued = await OutboxMessage.all().count()
    for value in HTTP_LISTS:
        response = await post_form(client, "/profile/change/email", {"email": value})
        assert response.status_code == 400, value
        assert ONE_ONLY in await response.get_data(as_text=True)
    assert await EmailChange.all().count() == 0
    assert await OutboxMessage.all().count() == queued
    await account.refresh_from_db()
    assert account.email == "hanako@example.jp"


async def test_staff_accounts_refuse_a_list_of_addresses(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="admin")
    before = await StaffUser.all().count()
    for value in LISTS:
        form = {"name": "窓口 次郎", "email": value, "role": "operator"}
        response = await post_form(client, "/staff/accounts", form)
        assert response.status_code == 400, value
        assert ONE_ONLY in await response.get_data(as_text=True)
    assert await StaffUser.all().count() == before


async def test_a_members_import_refuses_a_list_in_the_email_column(app: Quart, clock) -> None:
    lines = (EXAMPLES / "members.csv").read_text(encoding="utf-8").splitlines()
    header, first = lines[0], lines[1]
    crafted = first.replace("yoko.sato@example.jp", '"yoko@example.jp,victim@example.com"')
    assert crafted != first
    data = (header + "\n" + crafted + "\n").encode()
    with pytest.raises(ImportRejected) as caught:
        await import_file(Kind.MEMBERS, data, source="m.csv", actor=Actor(), now=clock())
    [problem] = caught.value.problems
    assert problem.column == "email" and ONE_ONLY in problem.reason
    assert await Member.all().count() == 0


async def test_smtp_names_one_envelope_recipient_and_refuses_a_list(
    app: Quart, settings: Settings, clock: FrozenClock, mailbox: MailCatcher
) -> None:
    await enqueue_mail("hanako@example.jp", "password_changed", settings, clock(), name="花子")
    # A row that got a list past every form (an older row, a future bug).
    await enqueue_mail(
        "me@example.jp, victim@example.com",
        "password_changed",
        settings,
        clock(),
        name="花子",
    )
    await deliver(app)
    [mail] = mailbox.messages
    assert mail.rcpt_to == ("hanako@example.jp",)
    refused = await OutboxMessage.filter(status=OutboxStatus.FAILED).get()
    assert refused.payload["to"].startswith("me@example.jp")
    assert "one address" in (refused.last_error or "")
    assert not await Account.filter(email__contains=",").exists()
