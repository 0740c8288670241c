"""Staff imports over HTTP: upload, dry-run table, apply once, history, bad files."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

from quart import Quart
from werkzeug.datastructures import FileStorage, MultiDict

from server.audit.models import AuditEvent
from server.capital.models import CapitalRecord
from server.lib.clock import FrozenClock
from server.members.models import Member, MemberStatus
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState
from server.staff.imports.models import ImportUpload, UploadState
from server.staff.imports.service import KEEP_DAYS, MAX_UPLOAD_BYTES
from server.statements.models import StatementLine
from tests.helpers import csrf_of, page, post_form
from tests.smtp import deliver
from tests.staff.helpers import signed_in_staff

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BAD_STATEMENTS = (
    "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
    "10000001,2026-02,2026-02-15,1,2026-02-30,ノート,1,300\n"
    "10000001,2026-13,2026-02-15,2,2026-02-03,ペン,1,120\n"
).encode()
UNKNOWN_MEMBER = (
    "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen\n"
    "10000001,2026-02,2026-02-15,1,2026-02-03,ノート,1,300\n"
    "99999999,2026-02,2026-02-15,1,2026-02-03,ペン,1,120\n"
).encode()


async def upload(client: Any, kind: str, data: bytes, filename: str = "file.csv") -> Any:
    """Post the upload form as a browser does (multipart, CSRF token as a form field)."""
    _, html = await page(client, "/staff/imports")
    form = {"csrf_token": csrf_of(html), "kind": kind}
    files = {"file": FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv")}
    return await client.post("/staff/imports", form=form, files=files)


async def upload_example(client: Any, kind: str, name: str) -> tuple[str, str]:
    """Upload one of examples/ and return the result page's path and text."""
    response = await upload(client, kind, (EXAMPLES / name).read_bytes(), name)
    assert response.status_code == 303, await response.get_data(as_text=True)
    location = response.headers["Location"]
    status, html = await page(client, location)
    assert status == 200
    return location, html


async def apply(client: Any, location: str) -> Any:
    """Press 取り込む, then let the outbox worker run what it queued."""
    response = await post_form(client, f"{location}/apply", {}, token_from=location)
    await deliver(client.app)
    return response


async def test_upload_dry_runs_then_apply_imports_once(app: Quart) -> None:
    client, staff, _ = await signed_in_staff(app)
    location, html = await upload_example(client, "members", "members.csv")
    assert "取り込むとこうなります（まだ変更していません）" in html
    assert re.search(r"追加</th><td class=\"num\">3件", html)
    assert "確認のみ" in html and ">取り込む</button>" in html
    assert await Member.all().count() == 0  # a dry run writes nothing
    upload_row = await ImportUpload.get(id=int(location.rsplit("/", 1)[1]))
    assert upload_row.data == (EXAMPLES / "members.csv").read_bytes()
    assert upload_row.uploaded_by_id == staff.id and upload_row.filename == "members.csv"

    response = await apply(client, location)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{location}?done=queued"
    _, html = await page(client, response.headers["Location"])
    assert "取り込みました。" in html and "取り込み済み" in html and staff.name in html
    assert ">取り込む</button>" not in html
    assert await Member.filter(member_no="10000002").exists()
    stored = await ImportUpload.get(id=upload_row.id)
    assert stored.state == UploadState.APPLIED and stored.applied_by_id == staff.id
    assert stored.data is None  # the bytes are dropped once applied

    # A second apply of the same upload is refused and changes nothing.
    response = await apply(client, location)
    assert response.status_code == 409
    assert "すでに取り込み済みです" in await response.get_data(as_text=True)
    # The same file again: the dry run says nothing would change, and that it was applied.
    again, html = await upload_example(client, "members", "members.csv")
    assert again != location
    assert re.search(r"変更なし</th><td class=\"num\">3件", html)
    assert "同じ内容のファイルを2026年11月28日 14:00に取り込み済みです" in html
    events = await AuditEvent.filter(staff_id=staff.id).values_list("event", flat=True)
    for event in ("staff:import:dry_run", "staff:import:apply", "staff:import:apply_refused"):
        assert event in events


async def test_cp932_statements_and_capital_land_after_members(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members_cp932.csv")
    assert (await apply(client, location)).status_code == 303
    location, html = await upload_example(client, "statements", "statements_cp932.csv")
    assert "CP932 (Shift_JIS)" in html
    assert await StatementLine.all().count() == 0
    assert (await apply(client, location)).status_code == 303
    assert await StatementLine.all().count() == 7
    location, _ = await upload_example(client, "capital", "capital.csv")
    assert (await apply(client, location)).status_code == 303
    assert await CapitalRecord.all().count() > 0

    # The same statements again (UTF-8 this time): the dry run says nothing changes.
    _, html = await upload_example(client, "statements", "statements.csv")
    assert re.search(r"変更なし</th><td class=\"num\">7件", html)

    status, html = await page(client, "/staff/imports")
    assert status == 200
    history = html.split("取り込みの履歴", 1)[1]
    assert history.count("取り込み済み") == 3 and "確認のみ" in history
    # Newest first: the last upload (statements.csv, checked only) leads the table.
    first_row = history.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "statements.csv" in first_row and "確認のみ" in first_row


async def test_row_errors_are_a_table_without_apply_button_and_cannot_be_applied(
    app: Quart,
) -> None:
    client, staff, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    await apply(client, location)
    response = await upload(client, "statements", BAD_STATEMENTS, "bad.csv")
    assert response.status_code == 303
    location = response.headers["Location"]
    _, html = await page(client, location)
    assert "エラーあり" in html and "2件の問題" in html
    assert '<th scope="col">行</th><th scope="col">列</th>' in html
    table = html.split("import-problems", 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td class=\"num\">2</td><td>used_on</td><td>2026-02-30</td>", table)
    assert "存在しない日付です。" in table
    assert re.search(r"<td class=\"num\">3</td><td>billing_month</td><td>2026-13</td>", table)
    assert ">取り込む</button>" not in html
    stored = await ImportUpload.get(id=int(location.rsplit("/", 1)[1]))
    assert stored.state == UploadState.REJECTED and stored.data is None

    response = await apply(client, location)
    assert response.status_code == 409
    assert "問題が見つかったファイルは取り込めません" in await response.get_data(as_text=True)
    assert await StatementLine.all().count() == 0
    assert (await ImportUpload.get(id=stored.id)).state == UploadState.REJECTED
    _, html = await page(client, "/staff/imports")
    assert "エラーあり" in html and "問題 2件" in html and staff.name in html

    # A member number the co-op's records do not have.
    response = await upload(client, "statements", UNKNOWN_MEMBER, "unknown.csv")
    _, html = await page(client, response.headers["Location"])
    table = html.split("import-problems", 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td class=\"num\">3</td><td>member_no</td><td>99999999</td>", table)
    assert "この組合員番号の組合員は登録されていません。" in table
    assert ">取り込む</button>" not in html

    # Bad cells and an unknown member in one file: all three in the first upload.
    both = BAD_STATEMENTS + UNKNOWN_MEMBER.split(b"\n", 1)[1]
    response = await upload(client, "statements", both, "both.csv")
    _, html = await page(client, response.headers["Location"])
    table = html.split("import-problems", 1)[1].split("</table>", 1)[0]
    assert "3件の問題" in html
    assert "2026-02-30" in table and "2026-13" in table and "99999999" in table


async def test_a_file_that_stopped_passing_is_marked_and_nothing_changes(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    await apply(client, location)
    statements, _ = await upload_example(client, "statements", "statements.csv")
    await Member.filter(member_no="10000001").delete()  # the members changed meanwhile
    response = await apply(client, statements)
    assert response.headers["Location"] == f"{statements}?done=queued"
    _, html = await page(client, response.headers["Location"])
    assert "取り込めませんでした" in html and "エラーあり" in html
    assert await StatementLine.all().count() == 0


async def test_bad_uploads_are_refused_in_japanese_and_nothing_is_stored(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    members = (EXAMPLES / "members.csv").read_bytes()
    cases = [
        ("members", b"", "空です", 422),
        ("payroll", members, "種類（組合員・ご請求明細・出資金）を選んでください", 400),
        ("statements", members, "これは組合員ファイルのようです", 422),
        ("members", b"PK\x03\x04" + b"\x00" * 100, "CSVファイルではありません", 422),
        ("members", b"\x01\x02\x00\xff" * 50, "CSVファイルではありません", 422),
        ("members", members.split(b"\n", 1)[0] + b"\n", "データ行がありません", 422),
    ]
    for kind, data, message, status in cases:
        response = await upload(client, kind, data)
        html = await response.get_data(as_text=True)
        assert response.status_code == status, (kind, message)
        assert message in html, (kind, message)
        assert 'enctype="multipart/form-data"' in html  # the form again
    # A file of another kind is named in one line, with no row per column.
    response = await upload(client, "capital", members)
    html = await response.get_data(as_text=True)
    assert "これは組合員ファイルのようです" in html
    assert "知らない列名です" not in html and "import-problems" not in html
    # A header with a typo lists what is wrong with it.
    typo = members.replace(b"name_kana", b"kana", 1)
    html = await (await upload(client, "members", typo)).get_data(as_text=True)
    assert "「組合員」のファイルとして読めません" in html
    assert "知らない列名です" in html and "必要な列がありません" in html
    # No file at all.
    _, html = await page(client, "/staff/imports")
    response = await client.post(
        "/staff/imports", form={"csrf_token": csrf_of(html), "kind": "members"}
    )
    assert response.status_code == 400
    assert "ファイルを選んでください" in await response.get_data(as_text=True)
    assert await ImportUpload.all().count() == 0
    assert await Member.all().count() == 0
    refused = await AuditEvent.filter(event="staff:import:upload_refused").count()
    assert refused == len(cases) + 3  # and the wrong kind, the typo, no file


def multipart_upload(csrf: str, kind: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """The upload form's body as a browser encodes it, and its Content-Type."""
    boundary = "mypage-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{csrf}\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def test_over_the_limit_upload_gets_413_in_japanese(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    _, html = await page(client, "/staff/imports")
    body, content_type = multipart_upload(
        csrf_of(html), "statements", "huge.csv", b"a" * MAX_UPLOAD_BYTES
    )
    response = await client.post(
        "/staff/imports", data=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 413
    assert "送信内容が大きすぎます" in await response.get_data(as_text=True)
    assert await ImportUpload.all().count() == 0


async def trickle(client: Any, path: str, body: bytes, content_type: str, seconds: float) -> Any:
    """POST a body in small pieces over `seconds`, as a slow line delivers it."""
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    pieces = 6
    step = -(-len(body) // pieces)
    async with client.request(path, method="POST", headers=headers) as connection:
        for start in range(0, len(body), step):
            await connection.send(body[start : start + step])
            await asyncio.sleep(seconds / pieces)
        await connection.send_complete()
    return await connection.as_response()


async def test_a_clerks_upload_may_arrive_slowly_and_nobody_elses(app: Quart) -> None:
    app.config["BODY_TIMEOUT"] = 1  # Quart's 60 s, shortened to keep the test quick
    client, _, _ = await signed_in_staff(app)
    _, html = await page(client, "/staff/imports")
    data = (EXAMPLES / "members.csv").read_bytes()
    body, content_type = multipart_upload(csrf_of(html), "members", "members.csv", data)
    response = await trickle(client, "/staff/imports", body, content_type, seconds=2)
    assert response.status_code == 303, await response.get_data(as_text=True)
    assert await ImportUpload.all().count() == 1
    # Signed out, the same slow upload meets the ordinary limit, in Japanese.
    stranger = app.test_client()
    await page(stranger, "/staff/login")  # a browser that came by the sign-in page
    response = await trickle(stranger, "/staff/imports", body, content_type, seconds=2)
    assert response.status_code == 408
    assert "送信に時間がかかりすぎました" in await response.get_data(as_text=True)
    assert await ImportUpload.all().count() == 1


async def test_a_few_thousand_statement_lines_go_through_the_upload(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    await apply(client, location)
    header = "member_no,billing_month,billed_on,line_no,used_on,description,quantity,amount_yen"
    lines = [header] + [
        f"{member},2026-{month:02d},2026-{month:02d}-15,{n},2026-{month:02d}-03,品物{n},1,{n}"
        for member in ("10000001", "10000002", "10000003")
        for month in range(1, 13)
        for n in range(1, 101)
    ]
    response = await upload(client, "statements", "\r\n".join(lines).encode("cp932"), "big.csv")
    assert response.status_code == 303
    location = response.headers["Location"]
    _, html = await page(client, location)
    assert "3600行" in html
    assert (await apply(client, location)).status_code == 303
    assert await StatementLine.all().count() == 3600


async def test_unapplied_files_are_dropped_after_the_keeping_period(
    app: Quart, clock: FrozenClock
) -> None:
    client, _, _ = await signed_in_staff(app)
    location, _ = await upload_example(client, "members", "members.csv")
    clock.advance(days=KEEP_DAYS, minutes=1)
    client, _, _ = await signed_in_staff(app)  # the first session has long expired
    _, html = await page(client, location)
    assert "保存期間（7日）を過ぎたため" in html and ">取り込む</button>" not in html
    assert (await ImportUpload.get(id=int(location.rsplit("/", 1)[1]))).data is None
    response = await apply(client, location)
    assert response.status_code == 409
    assert await Member.all().count() == 0
    _, html = await page(client, "/staff/imports")
    assert "確認のみ（保存期間切れ）" in html


async def test_operators_may_import_and_unknown_uploads_are_404(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="operator")
    status, html = await page(client, "/staff/imports")
    assert status == 200 and "データ取り込み" in html
    assert 'href="/staff/imports" aria-current="page"' in html
    status, _ = await page(client, "/staff/imports/999")
    assert status == 404


async def apply_choosing(client: Any, location: str, *keys: str) -> Any:
    """Apply with the conflicts' checkboxes ticked (「ファイルの値で上書きする」)."""
    _, html = await page(client, location)
    form = MultiDict([("csrf_token", csrf_of(html)), *(("overwrite", key) for key in keys)])
    response = await client.post(f"{location}/apply", form=form)
    await deliver(client.app)
    return response


async def test_a_withdrawal_recorded_by_a_clerk_is_a_conflict_the_operator_decides(
    app: Quart,
) -> None:
    client, _, _ = await signed_in_staff(app, name="窓口 一郎")
    location, _ = await upload_example(client, "members", "members.csv")
    assert (await apply(client, location)).status_code == 303
    member = await Member.get(member_no="10000001")
    path = f"/staff/members/{member.id}"
    response = await post_form(
        client, f"{path}/withdrawal", {"refund_on": "2027-07-31", "confirm": "1"}, token_from=path
    )
    assert response.status_code == 303

    # The same file again still says `active`: listed, with who recorded what.
    location, html = await upload_example(client, "members", "members.csv")
    assert "窓口で記録した内容と食い違う項目（1件）" in html
    assert "<td>10000001</td><td>状態</td><td>在籍（active）</td>" in html
    assert "脱退手続き中（withdrawing）・払い戻し日 2027年7月31日" in html
    assert "窓口 一郎 2026年11月28日 14:00（脱退の記録）" in html
    assert 'name="overwrite" value="10000001:status"' in html
    assert "ファイルの値で上書きする" in html

    # A key that was not listed is refused and changes nothing.
    response = await apply_choosing(client, location, "10000002:status")
    assert response.status_code == 409
    assert "選んだ項目が確認結果にありません" in await response.get_data(as_text=True)
    assert (await ImportUpload.get(id=int(location.rsplit("/", 1)[1]))).state == "checked"

    # Applied without ticking: the clerk's withdrawal stays.
    response = await apply_choosing(client, location)
    assert response.status_code == 303
    _, html = await page(client, response.headers["Location"])
    assert "ポータルの値を残しました" in html
    assert (await Member.get(id=member.id)).status == MemberStatus.WITHDRAWING

    # The operator decides the file is right this time: overwritten, audited.
    location, _ = await upload_example(client, "members", "members.csv")
    response = await apply_choosing(client, location, "10000001:status")
    assert response.status_code == 303
    _, html = await page(client, response.headers["Location"])
    assert "ファイルの値で上書きしました" in html
    changed = await Member.get(id=member.id)
    assert changed.status == MemberStatus.ACTIVE and changed.capital_refund_on is None
    assert await AuditEvent.filter(event="imports:override:overwritten").count() == 2
    applied = await AuditEvent.filter(event="staff:import:apply").order_by("-id").first()
    assert applied is not None and applied.data["overwrite"] == ["10000001:status"]


async def test_an_approved_change_the_file_lacks_is_shown_as_waiting_not_as_an_error(
    app: Quart,
) -> None:
    client, _, _ = await signed_in_staff(app, name="窓口 一郎")
    location, _ = await upload_example(client, "members", "members.csv")
    assert (await apply(client, location)).status_code == 303
    member = await Member.get(member_no="10000001")
    request = await ChangeRequest.create(
        member_id=member.id,
        group=ChangeGroup.PHONE,
        state=ChangeState.RECEIVED,
        current_values={"phone": member.phone},
        new_values={"phone": "090-1234-5678"},
        submitted_at=app.config["MYPAGE_CLOCK"](),
        expected_on=date(2026, 12, 2),
        updated_at=app.config["MYPAGE_CLOCK"](),
    )
    path = f"/staff/changes/{request.id}"
    assert (await post_form(client, f"{path}/approve", {}, token_from=path)).status_code == 303

    location, html = await upload_example(client, "members", "members.csv")
    assert "基幹システム反映待ち（1件）" in html and "食い違う項目" not in html
    assert "<td>10000001</td><td>電話番号</td><td>027-231-1111</td><td>090-1234-5678</td>" in html
    assert "窓口 一郎" in html and ">取り込む</button>" in html
    assert (await apply(client, location)).status_code == 303
    assert (await Member.get(id=member.id)).phone == "090-1234-5678"
