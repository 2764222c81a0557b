"""Recording what staff do; the caller's transaction decides whether it happened at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
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


# What the log says instead of a person's address once they are erased (the mail records and
# team discussions say the same).
ERASED = "erased@learnhub.invalid"
# The events that may name a subscriber's address, in their subject or their details.
NAMING_PEOPLE = (Action.members_invited, Action.member_removed, Action.suspension_lifted)


async def forget(session: AsyncSession, email: str) -> int:
    """Stop naming ``email`` anywhere in the log (an erasure, or retention removing the
    person); what was done, when and by whom stays. Returns how many events changed."""
    changed = 0
    events = await session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_([a.value for a in NAMING_PEOPLE]))
    )
    for event in events:
        details = dict(event.details)
        if details.get("email") == email:
            details["email"] = ERASED
        if email in details.get("emails", ()):
            details["emails"] = [ERASED if e == email else e for e in details["emails"]]
        subject = ERASED if event.subject == email else event.subject
        if details != event.details or subject != event.subject:
            event.details, event.subject = details, subject
            changed += 1
    return changed
