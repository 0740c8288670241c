"""Stopping cards: revocation, and the list of certificates verifiers must refuse."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from server.card.models import CardCertificate
from server.lib.clock import to_jst
from server.members.models import MemberStatus


def _ended_access(today: date) -> Q:
    """Certificates of withdrawn or refunded members, even before anyone revoked them."""
    return Q(member__status=MemberStatus.WITHDRAWN) | Q(
        member__status=MemberStatus.WITHDRAWING, member__capital_refund_on__lt=today
    )


async def is_revoked(cert_id: str, now: datetime) -> bool:
    """True when the certificate was revoked or its member's access has ended."""
    today = to_jst(now).date()
    return await CardCertificate.filter(
        Q(id=cert_id), Q(revoked_at__isnull=False) | _ended_access(today)
    ).exists()


async def revoked_ids(now: datetime) -> list[str]:
    """Ids of certificates revoked (or whose member's access ended) and not yet expired."""
    today = to_jst(now).date()
    rows = await CardCertificate.filter(
        Q(expires_at__gt=now), Q(revoked_at__isnull=False) | _ended_access(today)
    ).values_list("id", flat=True)
    return sorted(str(row) for row in rows)


async def revoke_certificates_of(
    member_ids: Iterable[int],
    now: datetime,
    reason: str,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """Revoke every live certificate of these members; how many were revoked."""
    ids = list(member_ids)
    if not ids:
        return 0
    return await (
        CardCertificate.filter(member_id__in=ids, revoked_at__isnull=True, expires_at__gt=now)
        .using_db(using_db)
        .update(revoked_at=now, revoked_reason=reason[:40])
    )


async def revoke_member_certificates(member_id: int, now: datetime, reason: str) -> int:
    """Revoke one member's certificates (withdrawal, service stop, re-registration, staff)."""
    return await revoke_certificates_of([member_id], now, reason)
