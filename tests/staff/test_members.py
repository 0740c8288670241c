"""The staff members screen over HTTP: search, the member page, and phone-support actions."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

from quart import Quart

from server.account.initial import normalize_initial_password
from server.account.models import InitialPassword
from server.audit.models import AuditEvent
from server.auth.models import Account, Session
from server.members.models import Member, MemberStatus
from server.passkeys.models import Passkey
from server.push.models import PushSubscription
from server.security import verify_password
from tests.factories import make_account, make_member
from tests.helpers import csrf_of, login, page, post_form
from tests.staff.helpers import signed_in_staff

PASSWORD_RE = re.compile(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b")


async def tool(*args: str) -> str:
    """Run a poppler tool off the event loop and return what it printed."""
    done = await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, check=True)
    return done.stdout


async def hanako() -> Member:
    return await make_member(
        member_no="00012345",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        email="hanako.home@example.jp",
        phone="027-123-4567",
        postal_code="371-0026",
        address="群馬県前橋市大手町1-1-1",
        workplace="前橋市立桃井小学校",
        birth_date=date(1975, 4, 3),
    )


async def search(client, q: str) -> tuple[int, str]:
    response = await client.get("/staff/members", query_string={"q": q})
    return response.status_code, await response.get_data(as_text=True)


def listed(html: str) -> list[str]:
    """Member numbers in the result table, in order."""
    return re.findall(r'<td><a href="/staff/members/\d+">(\d{8})</a></td>', html)


# Search ----------------------------------------------------------------


async def test_search_page_has_one_box(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    status, html = await page(client, "/staff/members")
    assert status == 200
    assert "組合員検索" in html and 'name="q"' in html
    assert "検索結果" not in html
    assert await AuditEvent.filter(event="staff:member:search").count() == 0


async def test_search_by_member_number_also_full_width_and_without_zeros(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app)
    await hanako()
    await make_member(member_no="00012346", name="佐藤 一郎", name_kana="サトウ イチロウ")
    for q in ("00012345", "０００１２３４５", " 00012345 ", "12345"):
        status, html = await search(client, q)
        assert status == 200, q
        assert listed(html) == ["00012345"], q
        assert "山田 花子" in html and "（組合員番号）" in html and "未登録" in html
    event = await AuditEvent.filter(event="staff:member:search").order_by("-id").first()
    assert event is not None and event.staff_id == staff.id and event.actor == "staff"
    assert event.data["kind"] == "member_no" and event.data["found"] == 1


async def test_search_by_name_or_kana_in_any_kana_form(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    await hanako()
    await make_member(member_no="00020001", name="ヤマダ 太郎", name_kana="やまだ たろう")
    await make_member(member_no="00020002", name="田中 一郎", name_kana="タナカ イチロウ")
    for q in ("ﾔﾏﾀﾞ", "やまだ", "ヤマダ", "ﾔﾏ"):
        status, html = await search(client, q)
        assert status == 200
        assert listed(html) == ["00012345", "00020001"], q
        assert "（氏名・カナ）" in html
    for q in (
        "山田",
        "山田花子",
        "山田　花子",
        "ﾔﾏﾀﾞ ﾊﾅｺ",
        "やまだはなこ",
        "ヤマダ　ハナコ",
        "はなこ",
    ):
        _, html = await search(client, q)
        assert listed(html) == ["00012345"], q
    _, html = await search(client, "たなか")
    assert listed(html) == ["00020002"]


async def test_like_wildcards_in_the_box_are_plain_characters(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    await hanako()
    for q in ("%", "_", "山%"):
        status, html = await search(client, q)
        assert status == 200 and listed(html) == [], q


async def test_search_by_email_member_or_sign_in_address(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    await make_account(member, email="hanako@example.jp")
    await make_member(member_no="00020001", email="other@example.jp")
    for q in ("hanako@example.jp", "ＨＡＮＡＫＯ＠ｅｘａｍｐｌｅ．ｊｐ", "Hanako.Home@example.jp"):
        status, html = await search(client, q)
        assert status == 200 and listed(html) == ["00012345"], q
        assert "（メールアドレス）" in html and "登録済み" in html
    _, html = await search(client, "nobody@example.jp")
    assert listed(html) == []


async def test_search_by_phone_with_hyphens_or_without(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    await hanako()
    await make_member(member_no="00020001", phone="027-999-4567")
    for q in ("027-123-4567", "０２７－１２３－４５６７", "0271234567", "027 123 4567", "123-4567"):
        status, html = await search(client, q)
        assert status == 200 and listed(html) == ["00012345"], q
        assert "（電話番号）" in html
    _, html = await search(client, "4567")  # four digits: a member number, not a phone
    assert listed(html) == []


async def test_search_without_result_says_so(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    await hanako()
    status, html = await search(client, "存在しない名前")
    assert status == 200
    assert "該当する組合員は見つかりませんでした" in html and listed(html) == []


async def test_search_is_capped_and_says_there_are_more(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    for n in range(51):
        await make_member(member_no=f"{40000000 + n:08d}", name=f"鈴木 {n}", name_kana="スズキ")
    _, html = await search(client, "すずき")
    assert len(listed(html)) == 50
    assert "先頭の50件だけを表示" in html
    assert listed(html)[0] == "40000000"


async def test_search_refuses_very_long_words(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    status, html = await search(client, "あ" * 101)
    assert status == 400 and "100文字以内" in html


# The member page -------------------------------------------------------


async def test_member_page_shows_data_account_and_is_audited(app: Quart, clock) -> None:
    client, staff, _ = await signed_in_staff(app)
    member = await hanako()
    account = await make_account(member, email="hanako@example.jp")
    await Passkey.create(
        account=account,
        credential_id="cred-1",
        public_key=b"k",
        name="iPhone",
        created_at=clock() - timedelta(days=3),
        last_used_at=clock() - timedelta(days=1),
    )
    await PushSubscription.create(
        member=member,
        endpoint="https://fcm.googleapis.com/fcm/send/abc",
        p256dh="p",
        auth="a",
        browser="Chrome",
        os="Android",
        created_at=clock() - timedelta(days=2),
        updated_at=clock() - timedelta(days=2),
    )
    # A failed sign-in from a member's browser lands in the history.
    member_browser = app.test_client()
    await post_form(member_browser, "/login", {"email": "hanako@example.jp", "password": "wrong"})

    status, html = await page(client, f"/staff/members/{member.id}")
    assert status == 200
    for words in (
        "山田 花子",
        "ヤマダ ハナコ",
        "00012345",
        "1975年4月3日",
        "群馬県前橋市大手町1-1-1",
        "027-123-4567",
        "前橋市立桃井小学校",
        "現職",
        "2015年4月1日",
        "在籍",
        "hanako@example.jp",  # the sign-in address
        "hanako.home@example.jp",
        "利用中",
        "2024年11月1日 09:00",  # registered, in Japan time
        "ログインの失敗",
        "パスワード違い",
        "パスキー（1件）",
        "iPhone",
        "通知を受け取る端末（1台）",
        "Chrome（Android）",
    ):
        assert words in html, words
    event = await AuditEvent.get(event="staff:member:view")
    assert event.member_id == member.id and event.staff_id == staff.id
    assert event.actor == "staff" and event.account_id == account.id


async def test_member_without_account_is_unregistered(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    _, html = await page(client, f"/staff/members/{member.id}")
    assert "未登録" in html and "ログイン用メールアドレス" not in html
    assert "ロックを解除" not in html and "すべての端末からログアウトさせる" not in html
    assert "初期パスワードを発行" in html


async def test_unknown_member_is_404(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    status, html = await page(client, "/staff/members/999999")
    assert status == 404 and "この組合員は見つかりません" in html
    response = await post_form(
        client,
        "/staff/members/999999/withdrawal",
        {"refund_on": "2027-07-31"},
        token_from="/staff/members",
    )
    assert response.status_code == 404
    assert await AuditEvent.filter(event__startswith="staff:member:").count() == 0


async def test_member_session_gets_404_on_the_members_screen(app: Quart) -> None:
    member = await hanako()
    account = await make_account(member, email="hanako@example.jp")
    client = app.test_client()
    assert (await login(client, account.email)).status_code == 303
    for path in ("/staff/members", f"/staff/members/{member.id}", "/staff/members?q=%E5%B1%B1"):
        assert (await client.get(path)).status_code == 404, path
    response = await client.post(f"/staff/members/{member.id}/unblock", form={})
    assert response.status_code == 404


async def test_a_post_without_csrf_token_is_refused(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    account = await make_account(member, blocked_until=None)
    response = await client.post(f"/staff/members/{member.id}/sessions/end", form={})
    assert response.status_code == 403
    response = await client.post(
        f"/staff/members/{member.id}/withdrawal", form={"refund_on": "2027-07-31"}
    )
    assert response.status_code == 403
    assert (await Member.get(id=member.id)).status == MemberStatus.ACTIVE
    assert await Account.filter(id=account.id).exists()


# Actions ---------------------------------------------------------------


async def test_unblock_lifts_the_block_and_is_audited(app: Quart, clock) -> None:
    client, staff, _ = await signed_in_staff(app)
    member = await hanako()
    account = await make_account(member, email="hanako@example.jp")
    browser = app.test_client()
    for _ in range(5):
        await post_form(browser, "/login", {"email": "hanako@example.jp", "password": "wrong"})
    _, html = await page(client, f"/staff/members/{member.id}")
    assert "ロック中（2026年11月28日 14:15まで）" in html
    assert "ロック（失敗が続いたため）" in html

    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/unblock", {}, token_from=path)
    assert response.status_code == 303 and response.headers["Location"] == f"{path}?done=unblock"
    _, html = await page(client, response.headers["Location"])
    assert "ロックを解除しました" in html and "利用中" in html and "ロック解除" in html
    stored = await Account.get(id=account.id)
    assert stored.blocked_until is None and stored.failed_count == 0
    event = await AuditEvent.get(event="staff:member:unblock")
    assert event.staff_id == staff.id and event.member_id == member.id
    assert event.data == {"was_blocked": True}
    lifted = await AuditEvent.get(event="auth:account:unblock")
    assert lifted.staff_id == staff.id and lifted.member_id == member.id
    # The member can sign in again at once.
    assert (await login(browser, "hanako@example.jp")).status_code == 303


async def test_unblock_without_account_is_refused(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/unblock", {}, token_from=path)
    assert response.status_code == 400
    assert "マイページに登録していません" in await response.get_data(as_text=True)
    assert await AuditEvent.filter(event="staff:member:unblock").count() == 0


async def test_end_all_sessions_signs_the_member_out_everywhere(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app)
    member = await hanako()
    account = await make_account(member, email="hanako@example.jp")
    phone, computer = app.test_client(), app.test_client()
    assert (await login(phone, account.email)).status_code == 303
    assert (await login(computer, account.email)).status_code == 303
    assert await Session.filter(account_id=account.id).count() == 2
    path = f"/staff/members/{member.id}"
    _, html = await page(client, path)
    assert "2台" in html
    response = await post_form(client, f"{path}/sessions/end", {}, token_from=path)
    assert response.status_code == 303
    _, html = await page(client, response.headers["Location"])
    assert "すべての端末からログアウトさせました" in html and "0台" in html
    assert await Session.filter(account_id=account.id).count() == 0
    assert (await phone.get("/")).status_code == 303  # back to the sign-in page
    event = await AuditEvent.get(event="staff:member:sessions_end")
    assert event.staff_id == staff.id and event.member_id == member.id
    assert event.data == {"ended": 2}


async def test_issue_initial_password_shown_once_and_only_hashed(app: Quart, clock) -> None:
    client, staff, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = await response.get_data(as_text=True)
    assert "初期パスワードを発行しました" in html and "案内状（PDF）を印刷" in html
    [password] = set(PASSWORD_RE.findall(html))
    assert "2027年2月26日 14:00まで" in html  # 90 days, Japan time
    stored = await InitialPassword.get(member_id=member.id)
    assert password not in stored.password_hash
    assert await verify_password(stored.password_hash, normalize_initial_password(password))
    assert stored.expires_at == clock() + timedelta(days=90)
    events = await AuditEvent.filter(member_id=member.id).order_by("id")
    names = [e.event for e in events]
    assert "account:initial_password:issue" in names and "staff:member:initial_password" in names
    assert all(e.staff_id == staff.id for e in events if e.event != "staff:member:view")
    for event in events:
        assert password not in str(event.data)
        assert normalize_initial_password(password) not in str(event.data)
    # The member page now tells the password is live, without showing it.
    _, html = await page(client, path)
    assert "有効（2026年11月28日 14:00 発行" in html and password not in html


async def test_a_new_initial_password_replaces_the_old_one(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    first = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    [old] = set(PASSWORD_RE.findall(await first.get_data(as_text=True)))
    await post_form(client, f"{path}/initial-password", {}, token_from=path)
    assert await InitialPassword.filter(member_id=member.id).count() == 1
    # The old one can no longer be printed.
    response = await post_form(
        client, f"{path}/initial-password/letter", {"password": old}, token_from=path
    )
    assert response.status_code == 400


async def test_no_initial_password_for_a_withdrawn_member(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await make_member(status=MemberStatus.WITHDRAWN)
    path = f"/staff/members/{member.id}"
    _, html = await page(client, path)
    assert "初期パスワードを発行" not in html
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    assert response.status_code == 400
    assert "脱退済みの組合員には発行できません" in await response.get_data(as_text=True)
    assert await InitialPassword.filter(member_id=member.id).count() == 0


async def test_letter_pdf_has_the_password_name_and_embedded_font(
    app: Quart, tmp_path: Path
) -> None:
    client, staff, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    html = await response.get_data(as_text=True)
    [password] = set(PASSWORD_RE.findall(html))
    # The page's own print form, as the browser would post it.
    form = {"csrf_token": csrf_of(html), "password": password}
    response = await client.post(f"{path}/initial-password/letter", form=form)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "initial-password-00012345.pdf" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(await response.get_data())
    text = await tool("pdftotext", "-layout", str(pdf), "-")
    for words in (
        "山田 花子 様",
        "初期パスワードのご案内",
        "00012345",
        password,
        "2027年2月26日 14:00まで",
        "http://localhost/register",
        "群馬県学校生協",
        "フリーダイヤル 0120-39-5318",
        "〒371-0026",
        "Gmypage.jp",
    ):
        assert words in text, words
    info = await tool("pdfinfo", str(pdf))
    assert "Pages:           1" in info and "A4" in info
    fonts = await tool("pdffonts", str(pdf))
    row = next(line for line in fonts.splitlines() if "IPAexGothic" in line)
    assert row.split()[-5:-3] == ["yes", "yes"]  # embedded, subset
    event = await AuditEvent.get(event="staff:member:letter")
    assert event.staff_id == staff.id and event.member_id == member.id
    assert password not in str(event.data)


async def test_letter_prints_the_password_as_issued_even_if_typed_loosely(
    app: Quart, tmp_path: Path
) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    [password] = set(PASSWORD_RE.findall(await response.get_data(as_text=True)))
    loose = password.lower().replace("-", " ")
    response = await post_form(
        client, f"{path}/initial-password/letter", {"password": loose}, token_from=path
    )
    assert response.status_code == 200
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(await response.get_data())
    assert password in await tool("pdftotext", str(pdf), "-")


async def test_letter_refuses_any_other_text(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    other = await make_member()
    path = f"/staff/members/{member.id}"
    # Nothing issued yet.
    response = await post_form(
        client, f"{path}/initial-password/letter", {"password": "AAAA-BBBB-CCCC"}, token_from=path
    )
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert "案内状を作成できません" in html and "山田 花子" in html  # the member page again
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    [password] = set(PASSWORD_RE.findall(await response.get_data(as_text=True)))
    for wrong in ("AAAA-BBBB-CCCC", "任意の文章を印刷", "", password + "X"):
        response = await post_form(
            client, f"{path}/initial-password/letter", {"password": wrong}, token_from=path
        )
        assert response.status_code == 400, wrong
        assert response.mimetype != "application/pdf"
    # Another member's letter cannot carry this member's password.
    response = await post_form(
        client,
        f"/staff/members/{other.id}/initial-password/letter",
        {"password": password},
        token_from=path,
    )
    assert response.status_code == 400
    assert await AuditEvent.filter(event="staff:member:letter_refused").count() == 6
    assert await AuditEvent.filter(event="staff:member:letter").count() == 0


async def test_letter_refused_after_the_password_expired(app: Quart, clock) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    response = await post_form(client, f"{path}/initial-password", {}, token_from=path)
    [password] = set(PASSWORD_RE.findall(await response.get_data(as_text=True)))
    await InitialPassword.filter(member_id=member.id).update(expires_at=clock())
    response = await post_form(
        client, f"{path}/initial-password/letter", {"password": password}, token_from=path
    )
    assert response.status_code == 400


async def test_record_withdrawal_and_correct_the_refund_date(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    _, html = await page(client, path)
    assert 'value="2027-07-31"' in html  # the usual refund date: the end of July
    assert "署名された脱退届を受け付けました" in html
    # Without the ticked confirmation nothing is recorded.
    response = await post_form(
        client, f"{path}/withdrawal", {"refund_on": "2027-07-31"}, token_from=path
    )
    assert response.status_code == 400
    assert "脱退届を受け付けたことを確認して" in await response.get_data(as_text=True)
    assert (await Member.get(id=member.id)).status == MemberStatus.ACTIVE
    response = await post_form(
        client,
        f"{path}/withdrawal",
        {"refund_on": "２０２７－０７－３１", "confirm": "1"},
        token_from=path,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}?done=withdrawal"
    _, html = await page(client, response.headers["Location"])
    assert "脱退を記録しました" in html and "脱退手続き中" in html and "2027年7月31日" in html
    stored = await Member.get(id=member.id)
    assert stored.status == MemberStatus.WITHDRAWING
    assert stored.capital_refund_on == date(2027, 7, 31)
    event = await AuditEvent.get(event="staff:member:withdrawal")
    assert event.staff_id == staff.id and event.member_id == member.id
    assert event.data["refund_on"] == "2027-07-31" and event.data["previous_status"] == "active"

    response = await post_form(
        client, f"{path}/withdrawal", {"refund_on": "2027年8月31日"}, token_from=path
    )
    assert response.headers["Location"] == f"{path}?done=refund"
    _, html = await page(client, response.headers["Location"])
    assert "払い戻し日を変更しました" in html and "署名された脱退届" not in html
    assert (await Member.get(id=member.id)).capital_refund_on == date(2027, 8, 31)
    corrected = await AuditEvent.filter(event="staff:member:withdrawal").order_by("-id").first()
    assert corrected is not None and corrected.data["previous_refund_on"] == "2027-07-31"


async def test_withdrawal_refuses_bad_dates_and_changes_nothing(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await hanako()
    path = f"/staff/members/{member.id}"
    for value, message in (
        ("", "払い戻し日を入力してください"),
        ("2027-02-30", "実在する日付を入力してください"),
        ("来年の7月", "実在する日付を入力してください"),
        ("2026-11-27", "過去の日付は指定できません"),  # yesterday in Japan
        ("2040-07-31", "年以上先になっています"),
    ):
        response = await post_form(
            client, f"{path}/withdrawal", {"refund_on": value, "confirm": "1"}, token_from=path
        )
        assert response.status_code == 400, value
        html = await response.get_data(as_text=True)
        assert message in html, value
        assert "山田 花子" in html  # the member page again, with the error
    stored = await Member.get(id=member.id)
    assert stored.status == MemberStatus.ACTIVE and stored.capital_refund_on is None
    assert await AuditEvent.filter(event="staff:member:withdrawal").count() == 0
    # Today is fine.
    response = await post_form(
        client, f"{path}/withdrawal", {"refund_on": "2026-11-28", "confirm": "1"}, token_from=path
    )
    assert response.status_code == 303


async def test_withdrawn_member_cannot_get_a_refund_date(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    member = await make_member(status=MemberStatus.WITHDRAWN)
    path = f"/staff/members/{member.id}"
    response = await post_form(
        client, f"{path}/withdrawal", {"refund_on": "2027-07-31"}, token_from=path
    )
    assert response.status_code == 400
    assert "脱退のお手続きが完了している組合員です" in await response.get_data(as_text=True)
    assert (await Member.get(id=member.id)).capital_refund_on is None
