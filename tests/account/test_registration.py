"""Registration over HTTP with the co-op's initial password and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.account.models import InitialPassword, Registration
from server.audit.models import AuditEvent
from server.auth.models import Account, AccountState, Session
from server.lib.clock import FrozenClock
from server.members.models import MemberStatus
from tests.account.flows import (
    NEW_PASSWORD,
    give_code,
    give_email,
    give_password,
    identify,
    issue,
    register,
)
from tests.factories import make_account, make_member
from tests.helpers import cookie, login, page
from tests.smtp import deliver, mailed_code, mails_to

REFUSED = "入力された内容では登録できません。"


async def test_the_whole_registration(client, clock: FrozenClock) -> None:
    member = await make_member(name="山田 花子", member_no="00012345")
    initial = await issue(member, clock())
    status, html = await page(client, "/register")
    assert status == 200
    for label in ("組合員番号", "初期パスワード", "生年月日"):
        assert f">{label}</label>" in html
    # Typed as a member might: full-width number, lower case and spaces, a Japanese date.
    typed = initial.lower().replace("-", " ")
    response = await identify(client, member, typed, birth="１９８０年５月５日")
    assert response.status_code == 303 and response.headers["Location"] == "/register/email"
    status, html = await page(client, "/register/email")
    assert ">メールアドレス</label>" in html and "山田 花子 様" in html
    response = await give_email(client, "ＨＡＮＡＫＯ＠example.jp")
    assert response.headers["Location"] == "/register/code"
    status, html = await page(client, "/register/code")
    assert ">認証コード</label>" in html and "hanako@example.jp" in html
    code = await mailed_code(client.app, "hanako@example.jp")
    [code_mail] = mails_to("hanako@example.jp")
    assert code_mail.subject == "【群馬県学校生協】マイページ登録の認証コード"
    assert "山田 花子 様" in code_mail.body and "10分" in code_mail.body
    response = await give_code(client, code)
    assert response.headers["Location"] == "/register/password"
    status, html = await page(client, "/register/password")
    assert ">パスワード</label>" in html
    response = await give_password(client)
    assert response.status_code == 303 and response.headers["Location"] == "/register/done"
    # Signed in, on the page that says what to do if the mail does not come.
    status, html = await page(client, "/register/done")
    assert status == 200
    assert "利用登録が完了しました" in html and "Gmypage.jp" in html
    assert cookie(client, "mypage_registration") is None
    status, html = await page(client, "/")
    assert status == 200 and "山田 花子 様" in html
    assert await deliver(client.app) == 1
    done = mails_to("hanako@example.jp")[-1]
    assert done.subject == "【群馬県学校生協】マイページ登録完了のお知らせ"
    assert "00012345" in done.body and "hanako@example.jp" in done.body
    assert NEW_PASSWORD not in done.body and initial not in done.body
    account = await Account.get(member_id=member.id)
    assert account.email == "hanako@example.jp" and account.state == AccountState.ACTIVE
    assert (await InitialPassword.get(member_id=member.id)).used_at == clock.now
    assert await Registration.all().count() == 0
    assert await AuditEvent.filter(event="account:registration:complete").count() == 1
    # The initial password is spent, and the new password signs in.
    other = client.app.test_client()
    assert (await identify(other, member, initial)).status_code == 400
    assert (await login(other, "hanako@example.jp", NEW_PASSWORD)).status_code == 303


async def test_the_birth_date_may_be_typed_in_the_japanese_era(client, clock: FrozenClock) -> None:
    """An older member writes 昭和55年5月5日 (or S55.5.5) for 1980-05-05."""
    member = await make_member()
    initial = await issue(member, clock())
    response = await identify(client, member, initial, birth="Ｓ５５．５．５")
    assert response.status_code == 303 and response.headers["Location"] == "/register/email"
    other = client.app.test_client()
    response = await identify(other, member, initial, birth="昭和55年5月6日")
    assert response.status_code == 400


async def test_full_width_member_number(client, clock: FrozenClock) -> None:
    member = await make_member(member_no="00012345")
    initial = await issue(member, clock())
    form_member = type("M", (), {"member_no": "０００１２３４５"})()
    response = await identify(client, form_member, initial)  # type: ignore[arg-type]
    assert response.status_code == 303


async def test_golden_week_delays_registration(client, clock: FrozenClock) -> None:
    # Joined Tue 2026-04-28: 4/29 and 5/3-5/6 are holidays, so the fifth
    # business day is Mon 2026-05-11.
    member = await make_member(joined_on=date(2026, 4, 28))
    clock.now = datetime(2026, 5, 8, 14, 59, tzinfo=UTC)  # Fri 23:59 in Japan
    initial = await issue(member, clock())
    early = await identify(client, member, initial)
    assert early.status_code == 400
    html = await early.get_data(as_text=True)
    assert "ご登録は2026年5月11日（月）から可能です。" in html
    assert "5営業日" in html
    assert await Registration.all().count() == 0
    clock.now = datetime(2026, 5, 10, 15, 0, tzinfo=UTC)  # Mon 0:00 in Japan
    assert (await identify(client, member, initial)).status_code == 303


async def test_an_ordinary_week_opens_on_the_fifth_business_day(client, clock) -> None:
    member = await make_member(joined_on=date(2026, 11, 20))  # a Friday
    # 11/23 is 勤労感謝の日: 11/24, 25, 26, 27 and then Monday 11/30.
    clock.now = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    initial = await issue(member, clock())
    early = await identify(client, member, initial)
    assert "ご登録は2026年11月30日（月）から可能です。" in await early.get_data(as_text=True)
    clock.now = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert (await identify(client, member, initial)).status_code == 303


async def test_refusals_never_say_which_fact_was_wrong(client, clock: FrozenClock) -> None:
    good = await make_member()
    initial = await issue(good, clock())
    withdrawn = await make_member(status=MemberStatus.WITHDRAWN)
    withdrawn_initial = await issue(withdrawn, clock())
    stopped = await make_member()
    await make_account(stopped, state=AccountState.STOPPED)
    stopped_initial = await issue(stopped, clock())
    nobody = type("M", (), {"member_no": "99999999"})()
    attempts = [
        (nobody, initial, "1980-05-05"),
        (good, "WRONG-WRONG-WRNG", "1980-05-05"),
        (good, initial, "1980-05-06"),
        (withdrawn, withdrawn_initial, "1980-05-05"),
        (stopped, stopped_initial, "1980-05-05"),
    ]
    bodies = set()
    for member, password, birth in attempts:
        response = await identify(client, member, password, birth)  # type: ignore[arg-type]
        assert response.status_code == 400
        html = await response.get_data(as_text=True)
        assert REFUSED in html and "0120-39-5318" in html
        bodies.add(html.split('role="alert"')[1].split("</div>")[0])
    assert len(bodies) == 1  # the same words whatever was wrong
    assert await Registration.all().count() == 0
    reasons = await AuditEvent.filter(event="account:registration:refused").values_list(
        "data", flat=True
    )
    assert {r["reason"] for r in reasons} == {  # type: ignore[index]
        "unknown",
        "initial_password",
        "birth_date",
        "withdrawn",
        "stopped",
    }


async def test_an_initial_password_expires_after_90_days(client, clock: FrozenClock) -> None:
    member = await make_member()
    initial = await issue(member, clock())
    clock.advance(days=90)
    response = await identify(client, member, initial)
    assert REFUSED in await response.get_data(as_text=True)


async def test_a_new_initial_password_replaces_the_old(client, clock: FrozenClock) -> None:
    member = await make_member()
    old = await issue(member, clock())
    new = await issue(member, clock())
    assert (await identify(client, member, old)).status_code == 400
    assert (await identify(client, member, new)).status_code == 303


async def test_missing_or_malformed_fields(client, clock: FrozenClock) -> None:
    member = await make_member()
    initial = await issue(member, clock())
    empty = await identify(client, member, "", "")
    assert "すべて入力してください" in await empty.get_data(as_text=True)
    bad_date = await identify(client, member, initial, "昭和55年")
    assert "西暦で入力してください" in await bad_date.get_data(as_text=True)


async def test_wrong_codes_then_the_code_dies(client, clock: FrozenClock) -> None:
    member = await make_member()
    initial = await issue(member, clock())
    await identify(client, member, initial)
    await give_email(client, "hanako@example.jp")
    code = await mailed_code(client.app, "hanako@example.jp")
    wrong = "000000" if code != "000000" else "111111"
    first = await give_code(client, wrong)
    assert first.status_code == 400
    assert "認証コードが正しくありません" in await first.get_data(as_text=True)
    assert "あと4回" in await first.get_data(as_text=True)
    letters = await give_code(client, "abc")
    assert "6桁の数字" in await letters.get_data(as_text=True)  # not counted as a try
    for _ in range(3):
        await give_code(client, wrong)
    fifth = await give_code(client, wrong)
    assert "5回間違えた" in await fifth.get_data(as_text=True)
    # Even the right code no longer works; a new one does.
    late = await give_code(client, code)
    assert "新しい認証コードを受け取ってください" in await late.get_data(as_text=True)
    await give_email(client, "hanako@example.jp")
    fresh = await mailed_code(client.app, "hanako@example.jp")
    assert (await give_code(client, fresh)).headers["Location"] == "/register/password"
    # Every refused code is in the access log (the malformed one too).
    assert await AuditEvent.filter(event="account:code:failure").count() == 7


async def test_an_expired_code_is_refused(client, clock: FrozenClock) -> None:
    member = await make_member()
    initial = await issue(member, clock())
    await identify(client, member, initial)
    await give_email(client, "hanako@example.jp")
    code = await mailed_code(client.app, "hanako@example.jp")
    clock.advance(minutes=10)
    response = await give_code(client, code)
    assert response.status_code == 400
    assert "有効期限（10分）が切れた" in await response.get_data(as_text=True)


async def test_password_rules_are_told_and_the_initial_password_is_refused(
    client, clock: FrozenClock
) -> None:
    member = await make_member(member_no="00054321")
    initial = await issue(member, clock())
    await identify(client, member, initial)
    await give_email(client, "yamada.hanako@example.jp")
    await give_code(client, await mailed_code(client.app, "yamada.hanako@example.jp"))
    cases = {
        "short": "8文字以上",
        "password1": "よく使われている",
        "pass-00054321": "組合員番号",
        "yamada.hanako!!": "メールアドレス",
        initial: "初期パスワードは",
    }
    for password, words in cases.items():
        response = await give_password(client, password)
        assert response.status_code == 400
        assert words in await response.get_data(as_text=True), password
    mismatch = await give_password(client, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert "一致しません" in await mismatch.get_data(as_text=True)
    assert await Account.filter(member_id=member.id).count() == 0
    assert (await give_password(client)).status_code == 303


async def test_an_address_of_another_member_cannot_be_used(client, clock) -> None:
    await make_account(email="taken@example.jp")
    member = await make_member()
    initial = await issue(member, clock())
    await identify(client, member, initial)
    response = await give_email(client, "taken@example.jp")
    assert response.status_code == 400
    assert "このメールアドレスは登録に使えません" in await response.get_data(as_text=True)
    assert await deliver(client.app) == 0


async def test_steps_cannot_be_skipped_or_reused(client, clock: FrozenClock) -> None:
    status, html = await page(client, "/register/password")
    assert status == 400 and "最初からやり直してください" in html
    member = await make_member()
    initial = await issue(member, clock())
    await identify(client, member, initial)
    assert (await client.get("/register/password")).headers["Location"] == "/register/code"
    assert (await client.get("/register/code")).headers["Location"] == "/register/email"
    clock.advance(hours=1)
    status, html = await page(client, "/register/email")
    assert status == 400 and "有効期限が切れた" in html


async def test_registering_again_with_a_new_initial_password(client, clock: FrozenClock) -> None:
    # A member who lost both address and password gets a new initial password by phone.
    member = await make_member()
    account = await make_account(member, email="old@example.jp")
    other = client.app.test_client()
    await login(other, "old@example.jp")
    initial = await issue(member, clock())
    assert (await register(client, member, initial, "new@example.jp")).status_code == 303
    await account.refresh_from_db()
    assert account.email == "new@example.jp"
    assert await Session.filter(account_id=account.id).count() == 1  # only this browser
