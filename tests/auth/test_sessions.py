"""The session lookup on every request: same models as the ORM, no stale reads."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from tortoise import connections

from server.audit.service import Actor
from server.auth.models import Account, AccountState, Session
from server.auth.service import find_account
from server.auth.session_store import SessionPolicy
from server.auth.sessions import load_session, start_session
from server.lib.clock import FrozenClock
from server.members.models import Member, MemberStatus
from tests.factories import make_account, make_member
from tests.helpers import login

POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def _fields(instance: object) -> dict[str, object]:
    model = type(instance)
    return {name: getattr(instance, name) for name in model._meta.db_fields}  # type: ignore[attr-defined]


async def test_lookup_builds_the_same_models_as_the_orm(app, clock: FrozenClock) -> None:
    member = await make_member(
        name="山田 花子", status=MemberStatus.WITHDRAWING, capital_refund_on=clock().date()
    )
    account = await make_account(member, email="hanako@example.jp", last_login_at=clock())
    token = await start_session(
        account, POLICY, clock(), method="password", actor=Actor(kind="member", ip="127.0.0.1")
    )
    live = await load_session(token, POLICY, clock() + timedelta(seconds=5))
    assert live is not None
    # Every attribute, the ORM's own state included, with the same types.
    for built, loaded in (
        (live.session, await Session.get(account_id=account.id)),
        (live.account, await Account.get(id=account.id)),
        (live.member, await Member.get(id=member.id)),
    ):
        assert _fields(built) == _fields(loaded)
        assert {
            k: (type(v), repr(getattr(v, "tzinfo", None))) for k, v in _fields(built).items()
        } == {k: (type(v), repr(getattr(v, "tzinfo", None))) for k, v in _fields(loaded).items()}
    assert live.session.created_at.utcoffset() == timedelta(0)
    assert live.member.status is MemberStatus.WITHDRAWING
    assert live.account.state is AccountState.ACTIVE


async def test_account_lookup_builds_the_same_models_as_the_orm(app, clock: FrozenClock) -> None:
    member = await make_member(name="山田 花子", capital_refund_on=clock().date())
    account = await make_account(member, email="hanako@example.jp", blocked_until=clock())
    await make_account(email="taro@example.jp")
    found = await find_account("hanako@example.jp")
    assert found is not None
    expected = await Account.get(id=account.id).select_related("member")
    for built, loaded in ((found, expected), (found.member, expected.member)):
        assert _fields(built) == _fields(loaded)
        assert {k: type(v) for k, v in vars(built).items() if not k.startswith("_")} == {
            k: type(v) for k, v in vars(loaded).items() if not k.startswith("_")
        }
    assert found.member_id == member.id  # type: ignore[attr-defined]
    assert found.blocked_until is not None and found.blocked_until.utcoffset() == timedelta(0)
    assert await find_account("nobody@example.jp") is None
    # Saving a looked-up account writes only what changed, as with the ORM's own rows.
    found.failed_count = 3
    await found.save(update_fields=["failed_count"])
    assert (await Account.get(id=account.id)).failed_count == 3


async def test_a_session_deleted_elsewhere_is_refused_on_the_next_request(app, client) -> None:
    """Another worker's sign-out (a row deleted on another connection) counts at once."""
    await make_account(email="hanako@example.jp")
    await login(client, "hanako@example.jp")
    assert (await client.get("/")).status_code == 200
    conn = connections.get("default")
    if getattr(conn, "filename", None):
        other = sqlite3.connect(conn.filename, isolation_level=None)  # type: ignore[attr-defined]
        other.execute('DELETE FROM "session"')
        other.close()
    else:
        await Session.all().delete()
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")
