"""Turning off an endpoint that keeps failing, and telling the admins by email.

After three days in which every attempt failed (or at once, when the endpoint answers 410
Gone), the endpoint is disabled: nothing more is claimed for it, what was pending fails,
and every administrator is emailed through the mail queue, in the same transaction (the
email is a row first, decision 0002; its key makes a rerun queue nothing twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.mail.compose import Composer
from service.mail.service import Outgoing, enqueue_many
from service.staff.models import SYSTEM_DOMAIN, Role, StaffMember
from service.webhooks.models import DeliveryStatus, EndpointStatus
from service.webhooks.queue import D, E

UNSENT = "not sent: the endpoint was disabled"


async def disable(
    session: AsyncSession, endpoint_id: int, *, reason: str, now: datetime, composer: Composer
) -> bool:
    """Disable the endpoint if it is active, and queue the admins' email; False if it was
    not active (disabled or deleted meanwhile)."""
    found = (
        await session.execute(
            update(E)
            .where(E.c.id == endpoint_id, E.c.status == EndpointStatus.active.value)
            .values(status=EndpointStatus.disabled.value, disabled_at=now, disabled_reason=reason)
            .returning(E.c.url, E.c.description, E.c.failing_since)
        )
    ).first()
    if found is None:
        return False
    unsent = await session.execute(
        update(D)
        .where(D.c.endpoint_id == endpoint_id, D.c.status == DeliveryStatus.pending.value)
        .values(status=DeliveryStatus.failed.value, last_error=UNSENT)
    )
    admins = await session.execute(
        select(StaffMember.id, StaffMember.email).where(
            StaffMember.role == Role.admin.value,
            StaffMember.removed_at.is_(None),
            StaffMember.email.not_like(f"%@{SYSTEM_DOMAIN}"),
        )
    )
    context = {
        "endpoint_id": endpoint_id,
        "url": found.url,
        "description": found.description,
        "reason": reason,
        "failing_since": _when(found.failing_since or now),
        "disabled_at": _when(now),
        "unsent": cast(CursorResult[Any], unsent).rowcount,
    }
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    await enqueue_many(
        session,
        [
            Outgoing(
                kind="webhook_disabled",
                recipient=email,
                key=f"webhook-disabled:{endpoint_id}:{stamp}:{staff_id}",
                context=context,
            )
            for staff_id, email in admins
        ],
        composer=composer,
        now=now,
    )
    return True


def _when(moment: datetime) -> str:
    return f"{moment:%d %B %Y at %H:%M} UTC".lstrip("0")
