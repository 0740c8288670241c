"""The card credential over HTTP: issue, verify every verdict, renew, keys, revocations."""

from __future__ import annotations

from datetime import UTC, datetime

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from server.audit.models import AuditEvent
from server.auth.models import Account
from server.card.cose import b45encode, decode_sign1, key_id, sign1
from server.card.models import CardCertificate
from tests.card.device import Device, b64url, csrf_header, unb64url, verify
from tests.factories import make_account, make_member


async def signed_in(client, **fields):
    from tests.helpers import login

    member = await make_member(**fields)
    account = await make_account(member)
    assert (await login(client, account.email)).status_code == 303
    return member


async def test_issued_certificate_verifies_with_the_signed_fields(app, client, clock) -> None:
    member = await signed_in(
        client, name="山田 花子", name_kana="ヤマダ ハナコ", member_no="00012345"
    )
    device = Device()
    response = await device.issue(client)
    assert response.status_code == 201
    body = await response.get_json()
    assert body["member_no"] == "00012345" and body["name"] == "山田 花子"
    assert body["name_kana"] == "ヤマダ ハナコ" and body["category"] == "現職"
    assert body["server_now_ms"] == int(clock.now.timestamp() * 1000)
    # Issued 2026-11-28: 30 days ahead.
    assert body["valid_until"] == "2026-12-28"
    message = decode_sign1(device.certificate)
    assert message.payload["pk"] == unb64url(device.public_key)
    assert message.payload["id"] == body["id"] and len(body["id"]) == 16
    row = await CardCertificate.get(id=body["id"])
    assert row.member_id == member.id and row.issued_by == "session"
    assert await AuditEvent.filter(event="card:certificate:issue", member_id=member.id).exists()

    visitor = app.test_client()  # a shop: no cookie, no CSRF token
    answer = await verify(visitor, device.code(clock.now))
    assert answer == {
        "valid": True,
        "reason": None,
        "member_no": "00012345",
        "name": "山田 花子",
        "name_kana": "ヤマダ ハナコ",
        "category": "現職",
        "valid_until": "2026-12-28",
        "message": "有効な組合員証です。",
    }
    # 90 seconds either side of the verifier's clock still pass.
    assert (await verify(visitor, device.code(clock.now, offset_steps=3)))["valid"]


async def test_the_same_code_three_minutes_later_is_out_of_time(app, client, clock) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    code = device.code(clock.now)
    clock.advance(minutes=3)
    answer = await verify(app.test_client(), code)
    assert answer["valid"] is False and answer["reason"] == "out_of_time"
    assert answer["message"].startswith("時間外")
    assert answer["member_no"]  # the co-op's signature was good: the fields are shown


async def test_a_changed_name_is_a_bad_signature(app, client, clock) -> None:
    await signed_in(client, name="山田 花子")
    device = Device()
    await device.issue(client)
    protected, unprotected, payload, signature = cbor2.loads(device.certificate)
    fields = cbor2.loads(payload)
    fields["n"] = "鈴木 一郎"
    device.certificate = cbor2.dumps([protected, unprotected, cbor2.dumps(fields), signature])
    answer = await verify(app.test_client(), device.code(clock.now))
    assert answer["reason"] == "bad_signature" and answer["valid"] is False
    assert answer["name"] is None and answer["member_no"] is None


async def test_a_certificate_copied_to_another_device_is_a_bad_signature(
    app, client, clock
) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    thief = Device(certificate=device.certificate)
    answer = await verify(app.test_client(), thief.code(clock.now))
    assert answer["reason"] == "bad_signature"


async def test_a_certificate_signed_by_an_unknown_key_is_refused(app, client, clock) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    stranger = ec.generate_private_key(ec.SECP256R1())
    payload = decode_sign1(device.certificate).payload
    device.certificate = sign1(stranger, key_id(stranger.public_key()), payload)
    answer = await verify(app.test_client(), device.code(clock.now))
    assert answer["reason"] == "unknown_key" and answer["name"] is None


async def test_an_expired_certificate_is_refused(app, client, clock) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    clock.advance(days=30, minutes=1)
    answer = await verify(app.test_client(), device.code(clock.now))
    assert answer["reason"] == "expired" and answer["message"].startswith("期限切れ")


async def test_malformed_codes_and_bad_bodies(app, client) -> None:
    visitor = app.test_client()
    huge_step = "CC1:" + b45encode(cbor2.dumps([b"x", 1 << 70, b"y"]))
    for code in ("0001234", "CC1:abc", "CC1:" + b45encode(cbor2.dumps([b"x", 1, b"y"])), huge_step):
        assert (await verify(visitor, code))["reason"] == "malformed"
    for body in ({"data": "x"}, {"code": 5}, {"code": ""}, [1, 2]):
        response = await visitor.post("/api/card/verify", json=body)
        assert response.status_code == 400
        assert "code" in (await response.get_json())["error"]
    response = await visitor.post(
        "/api/card/verify", data="not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    await signed_in(client)
    headers = await csrf_header(client)
    for body in ({}, {"public_key": "AAAA"}, {"public_key": b64url(b"\x04" + b"\x01" * 64)}):
        response = await client.post("/api/card/certificates", json=body, headers=headers)
        assert response.status_code == 400
        assert "端末の鍵" in (await response.get_json())["error"]
    assert await CardCertificate.all().count() == 0


async def test_issue_needs_a_member_and_a_csrf_token(app, client) -> None:
    visitor = app.test_client()
    response = await visitor.post("/api/card/certificates", json={"public_key": "x"})
    assert response.status_code in (401, 403)
    await signed_in(client)
    response = await client.post("/api/card/certificates", json={"public_key": Device().public_key})
    assert response.status_code == 403
    assert await CardCertificate.all().count() == 0


async def test_keys_are_published_as_jwks(app, client, settings) -> None:
    response = await app.test_client().get("/.well-known/coop-card-keys.json")
    assert response.status_code == 200
    assert "max-age=3600" in response.headers["Cache-Control"]
    keys = (await response.get_json())["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert {key["kty"], key["crv"], key["alg"], key["use"]} == {"EC", "P-256", "ES256", "sig"}
    assert len(unb64url(key["x"])) == 32 and len(unb64url(key["y"])) == 32
    # The certificates name this key.
    await signed_in(client)
    device = Device()
    await device.issue(client)
    assert decode_sign1(device.certificate).kid == key["kid"]
    assert (settings.data_dir / "card_signing_key.pem").is_file()


async def test_server_time(app, clock) -> None:
    response = await app.test_client().get("/api/card/time")
    assert await response.get_json() == {"now_ms": int(clock.now.timestamp() * 1000)}


async def test_renewal_needs_no_session_and_supersedes(app, client, clock) -> None:
    member = await signed_in(client)
    device = Device()
    await device.issue(client)
    first = device.id
    clock.advance(days=2)  # the session is long gone
    phone = app.test_client()  # cookies of a fresh visitor only
    response = await device.renew(phone, clock.now)
    assert response.status_code == 201, await response.get_data(as_text=True)
    assert device.id != first
    assert (await CardCertificate.get(id=first)).superseded_by == device.id
    renewed = await CardCertificate.get(id=device.id)
    assert renewed.issued_by == "renewal" and renewed.device_public_key == device.public_key
    assert await AuditEvent.filter(event="card:certificate:renew", member_id=member.id).exists()
    assert (await verify(app.test_client(), device.code(clock.now)))["valid"]


async def test_renewal_with_a_wrong_signature_or_unknown_id_is_refused(app, client, clock) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    phone = app.test_client()
    response = await device.renew(phone, clock.now, key=ec.generate_private_key(ec.SECP256R1()))
    assert response.status_code == 403
    body = await response.get_json()
    assert body["reason"] == "unknown_device" and "ログイン" in body["error"]
    device.id = "0123456789abcdef"
    response = await device.renew(phone, clock.now)
    assert (await response.get_json())["reason"] == "unknown_device"
    assert await CardCertificate.all().count() == 1


async def test_renewal_with_a_far_off_clock_is_refused_but_keeps_the_card(
    app, client, clock
) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    response = await device.renew(app.test_client(), datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    assert response.status_code == 400
    assert (await response.get_json())["reason"] == "clock"


async def test_renewal_needs_the_visitors_csrf_token(app, client, clock) -> None:
    await signed_in(client)
    device = Device()
    await device.issue(client)
    response = await app.test_client().post("/api/card/renew", json=device.renew_body(clock.now))
    assert response.status_code == 403


async def test_a_member_whose_access_ended_gets_no_card(app, client) -> None:
    from server.members.models import Member, MemberStatus
    from tests.helpers import login

    member = await signed_in(client)
    headers = await csrf_header(client)
    phone = client.app.test_client()
    account = await Account.get(member_id=member.id)
    assert (await login(phone, account.email)).status_code == 303
    await Member.filter(id=member.id).update(status=MemberStatus.WITHDRAWN)
    # The page script asks: the session load refuses it, with a reason it can act on.
    response = await client.post(
        "/api/card/certificates", json={"public_key": Device().public_key}, headers=headers
    )
    assert response.status_code == 403
    body = await response.get_json()
    assert body["reason"] == "access_ended" and "脱退" in body["error"]
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert await CardCertificate.all().count() == 0
    # The member's other browser opens /card: the reason, and no card.
    response = await phone.get("/card")
    assert response.status_code == 403
    html = await response.get_data(as_text=True)
    assert "脱退のお手続きが完了しているため" in html and member.member_no not in html


async def test_card_page_carries_what_the_script_needs(client) -> None:
    await signed_in(client, member_no="00012345", name="山田 花子")
    from tests.helpers import page

    _, html = await page(client, "/card")
    assert 'data-issue-url="/api/card/certificates"' in html
    assert 'data-renew-url="/api/card/renew"' in html
    assert 'data-member-no="00012345"' in html and 'data-name="山田 花子"' in html
    assert "学校生協の指定店・提携店でご提示ください" in html
    assert "お店の一覧" not in html  # no shops list set


async def test_card_page_links_the_shops_list_when_set(db_url, tmp_path) -> None:
    from server.app import create_app
    from server.lib.clock import FrozenClock
    from tests.conftest import START, make_settings
    from tests.helpers import page

    url = "https://coop.example.jp/shops"
    app = create_app(make_settings(db_url, tmp_path, card_shops_url=url), clock=FrozenClock(START))
    async with app.test_app():
        _, html = await page(app.test_client(), "/card")
    assert f'href="{url}"' in html and "お店の一覧" in html


async def test_issue_and_renewal_show_in_the_members_own_history(app, client, clock) -> None:
    """A10: the card's certificate issue and renewal are in the member's 閲覧の記録 and the log."""
    from tests.helpers import page

    await signed_in(client)
    device = Device()
    assert (await device.issue(client)).status_code == 201
    assert (await device.renew(app.test_client(), clock.now)).status_code == 201
    _, html = await page(client, "/settings")
    assert "デジタル組合員証の発行（端末への保存）" in html
    assert "デジタル組合員証の更新" in html
    other = app.test_client()
    await signed_in(other, member_no="00099999")
    _, theirs = await page(other, "/settings")
    assert "デジタル組合員証の発行" not in theirs


async def test_card_answers_are_never_cached(app, client, clock) -> None:
    """Issue, renewal, verify and time are personal or live: the security headers say no-store."""
    await signed_in(client)
    device = Device()
    issued = await device.issue(client)
    renewed = await device.renew(app.test_client(), clock.now)
    checked = await app.test_client().post(
        "/api/card/verify", json={"code": device.code(clock.now)}
    )
    timed = await app.test_client().get("/api/card/time")
    for response in (issued, renewed, checked, timed):
        assert response.headers["Cache-Control"] == "no-store"
