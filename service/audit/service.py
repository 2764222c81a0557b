"""Recording what staff do; the caller's transaction decides whether it happened at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import Action, AuditEvent
from service.staff.models import StaffMember

SUBJECT = 320  # the column's length


def record(
    session: AsyncSession,
    staff: StaffMember,
    action: Action,
    subject: str,
    *,
    now: datetime,
    **details: Any,
) -> AuditEvent:
    """Add the event to the session: it is written with the change it records, or not at all."""
    event = AuditEvent(
        occurred_at=now,
        staff_id=staff.id,
        action=action.value,
        subject=subject[:SUBJECT],
        details=details,
    )
    session.add(event)
    return event
