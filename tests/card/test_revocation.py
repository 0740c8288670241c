"""When the card must stop: withdrawal by import, service stop, staff; renewal then refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.account.lockdown import lock_down, lost_device
from server.audit.events import LockdownEvent
from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.auth.models import Account
from server.card.certificates import valid_until
from server.card.models import CardCertificate
from server.card.revocation import revoke_member_certificates
from server.imports.plan import Kind
from server.imports.service import import_file
from server.members.models import Member, MemberStatus
from server.requests.stop import stop_service
from tests.card.device import Device, verify
from tests.card.test_credential import signed_in
from tests.helpers import page, post_form
from tests.staff.helpers import signed_in_staff

HEADER = (
    "member_no,name,name_kana,birth_date,email,phone,postal_code,address,workplace,"
    "category,joined_on,status,capital_refund_on\n"
)


def members_csv(member: Member, status: str, refund_on: str = "") -> bytes:
    row = (
        f"{member.member_no},{member.name},{member.name_kana},{member.birth_date},,"
        f"{member.phone},{member.postal_code},{member.address},{member.workplace},"
        f"{member.category.value},{member.joined_on},{status},{refund_on}\n"
    )
    return (HEADER + row).encode()


async def carded(app, client, **fields) -> tuple[Member, Device]:
    member = await signed_in(client, **fields)
    device = Device()
    assert (await device.issue(client)).status_code == 201
    return member, device


async def test_withdrawal_by_import_revokes_the_card(app, client, clock) -> None:
    member, device = await carded(app, client)
    other, other_device = await carded(app, app.test_client())
    await import_file(
        Kind.MEMBERS,
        members_csv(member, "withdrawn"),
        source="members.csv",
        actor=Actor(kind="operator"),
        now=clock(),
    )
    assert (await Member.get(id=member.id)).status == MemberStatus.WITHDRAWN
    row = await CardCertificate.get(id=device.id)
    assert row.revoked_at == clock.now and row.revoked_reason == "withdrawn"
    shop = app.test_client()
    answer = await verify(shop, device.code(clock.now))
    assert answer["valid"] is False and answer["reason"] == "revoked"
    assert answer["message"].startswith("失効")
    assert (await verify(shop, other_device.code(clock.now)))["valid"]  # others keep theirs
    listed = await (await shop.get("/api/card/revocations")).get_json()
    assert listed == {"revoked": [device.id], "updated_at": int(clock.now.timestamp())}

    response = await device.renew(app.test_client(), clock.now)
    assert response.status_code == 403
    body = await response.get_json()
    assert body["reason"] == "access_ended"
    assert "脱退のお手続きが完了しているため" in body["error"]
    assert await AuditEvent.filter(
        event="card:certificate:renew_refused", member_id=member.id
    ).exists()
    assert other.id != member.id


async def test_a_passed_refund_day_ends_the_card_without_a_new_import(app, client, clock) -> None:
    member, device = await carded(app, client)
    await import_file(
        Kind.MEMBERS,
        members_csv(member, "withdrawing", "2026-12-10"),
        source="members.csv",
        actor=Actor(kind="operator"),
        now=clock(),
    )
    row = await CardCertificate.get(id=device.id)
    assert row.revoked_at is None  # the refund is still ahead
    shop = app.test_client()
    assert (await verify(shop, device.code(clock.now)))["valid"]
    # A certificate issued now never outlives the refund day.
    refreshed = await Member.get(id=member.id)
    assert valid_until(refreshed, clock.now) == datetime(2026, 12, 10, 14, 59, 59, tzinfo=UTC)
    clock.now = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)  # 12-11 01:00 JST
    listed = await (await shop.get("/api/card/revocations")).get_json()
    assert listed["revoked"] == [device.id]
    response = await device.renew(app.test_client(), clock.now)
    assert (await response.get_json())["reason"] == "access_ended"


async def test_service_stop_revokes_the_card(app, client, clock, settings) -> None:
    member, device = await carded(app, client)
    account = await Account.get(member_id=member.id)
    await stop_service(account, True, settings, clock.now, Actor(kind="member"))
    assert (await CardCertificate.get(id=device.id)).revoked_reason == "service_stop"
    assert (await verify(app.test_client(), device.code(clock.now)))["reason"] == "revoked"
    response = await device.renew(app.test_client(), clock.now)
    assert response.status_code == 403
    body = await response.get_json()
    assert body["reason"] == "revoked" and "失効" in body["error"]


async def test_staff_revoke_button(app, client, clock) -> None:
    member, device = await carded(app, client)
    other, other_device = await carded(app, app.test_client())
    staff_client, staff, _ = await signed_in_staff(app)
    path = f"/staff/members/{member.id}"
    _, html = await page(staff_client, path)
    assert "組合員証を失効させる" in html
    response = await post_form(staff_client, f"{path}/card/revoke", {}, token_from=path)
    assert response.status_code == 303
    _, html = await page(staff_client, response.headers["Location"])
    assert "組合員証を失効させました" in html
    assert (await CardCertificate.get(id=device.id)).revoked_reason == "staff"
    assert (await CardCertificate.get(id=other_device.id)).revoked_at is None
    event = await AuditEvent.get(event="staff:member:card_revoke")
    assert event.staff_id == staff.id and event.member_id == member.id
    assert event.data == {"revoked": 1}
    response = await post_form(staff_client, f"{path}/card/revoke", {}, token_from=path)
    _, html = await page(staff_client, response.headers["Location"])
    assert "失効させる組合員証はありませんでした" in html
    # Without the staff CSRF token nothing happens.
    response = await staff_client.post(f"/staff/members/{other.id}/card/revoke", form={})
    assert response.status_code == 403
    assert (await CardCertificate.get(id=other_device.id)).revoked_at is None
    # A member cannot reach the staff action.
    response = await client.post(f"/staff/members/{other.id}/card/revoke", form={})
    assert response.status_code == 404


async def test_renewal_only_from_the_newest_certificate(app, client, clock) -> None:
    _, device = await carded(app, client)
    first, first_certificate = device.id, device.certificate
    phone = app.test_client()
    assert (await device.renew(phone, clock.now)).status_code == 201
    second = device.id
    # A superseded certificate still verifies until it expires ...
    old = Device(key=device.key, certificate=first_certificate, id=first)
    assert (await verify(app.test_client(), old.code(clock.now)))["valid"]
    # ... and may renew once more (the page may have lost the last answer),
    assert (await old.renew(phone, clock.now)).status_code == 201
    third = old.id
    assert (await CardCertificate.get(id=second)).superseded_by == third
    assert (await CardCertificate.get(id=first)).superseded_by == second
    # but not again: its replacement has been replaced; only the newest renews.
    old.id = first
    response = await old.renew(phone, clock.now)
    assert response.status_code == 403
    assert (await response.get_json())["reason"] == "revoked"
    device.id = third
    assert (await device.renew(phone, clock.now)).status_code == 201


async def test_another_members_certificate_cannot_be_renewed_or_revoked(app, client, clock):
    member, device = await carded(app, client)
    _, mine = await carded(app, app.test_client())
    # Renewing someone else's certificate needs their device key.
    thief = Device(certificate=device.certificate, id=device.id)
    response = await thief.renew(app.test_client(), clock.now)
    assert response.status_code == 403
    assert (await response.get_json())["reason"] == "unknown_device"
    assert await CardCertificate.filter(member_id=member.id).count() == 1
    # The only revocation a member reaches is their own sign-out; revoking is staff-only.
    assert await revoke_member_certificates(member.id, clock.now, "test") == 1
    assert (await CardCertificate.get(id=mine.id)).revoked_at is None


async def test_valid_until_never_passes_the_fiscal_year_end(app, client, clock) -> None:
    clock.now = datetime(2027, 3, 20, 3, 0, tzinfo=UTC)
    _, device = await carded(app, client)
    assert device.answer["valid_until"] == "2027-03-31"
    # 2027-03-31 23:59:59 JST
    assert device.answer["expires_at"] == int(
        datetime(2027, 3, 31, 14, 59, 59, tzinfo=UTC).timestamp()
    )
    clock.now = datetime(2027, 3, 31, 15, 0, tzinfo=UTC)  # 04-01 00:00 JST
    assert (await verify(app.test_client(), device.code(clock.now)))["reason"] == "expired"
    # Renewing in the new fiscal year gives 30 days again.
    clock.now = datetime(2027, 3, 31, 14, 0, tzinfo=UTC)
    assert (await device.renew(app.test_client(), clock.now)).status_code == 201
    assert device.answer["valid_until"] == "2027-03-31"
    assert date.fromisoformat(device.answer["valid_until"]) <= date(2027, 3, 31)


async def test_the_lost_phone_switch_and_re_registration_revoke_the_card(
    app, client, clock, settings
) -> None:
    """A lock-down (lost phone, re-registration) revokes the card with everything else."""
    member, device = await carded(app, client)
    account = await Account.get(member_id=member.id)
    result = await lost_device(account, clock.now, settings, Actor(kind="member"))
    assert result.card_certificates == 1
    row = await CardCertificate.get(id=device.id)
    assert row.revoked_at == clock.now and row.revoked_reason == "lost_device"
    assert (await verify(app.test_client(), device.code(clock.now)))["reason"] == "revoked"
    assert (await device.renew(app.test_client(), clock.now)).status_code == 403
    event = await AuditEvent.get(event="account:lockdown:lost_device")
    assert event.data["card_certificates"] == 1

    other_member, other_device = await carded(app, app.test_client())
    other = await Account.get(member_id=other_member.id)
    again = await lock_down(
        other, clock.now, Actor(kind="member"), event=LockdownEvent.REREGISTRATION
    )
    assert again.card_certificates == 1
    assert (await CardCertificate.get(id=other_device.id)).revoked_reason == "reregistration"
