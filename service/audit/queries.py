"""The audit log: a brief's history (``brief_history``) and everything else staff did
(``audit_events``), read as one list, newest first, with filters.

The two tables are merged in SQL (a UNION ALL of when, which table and which row), so that
a page of fifty costs the same at the start of the log as years into it; the rows of the
page are then read from their own tables.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import Action, AuditEvent
from service.briefs.models import Brief, BriefHistory
from service.staff.models import StaffMember

PAGE = 50
BRIEF, OTHER = 0, 1  # which table a row of the log comes from

# What the log can be narrowed to: a brief's moves by their history action, the rest by
# their audit action.
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "published": (("publish",), ()),
    "updated": (("edit",), ()),
    "withdrawn": (("withdraw", "restore"), ()),
    "drafts": (("create",), ()),
    "staff": ((), (Action.staff_added, Action.staff_removed, Action.staff_role_changed)),
    "groups": (
        (),
        (
            Action.group_created,
            Action.group_changed,
            Action.members_invited,
            Action.member_removed,
            Action.feed_link_issued,
            Action.feed_link_revoked,
        ),
    ),
    "exports": ((), (Action.exported,)),
    "addresses": ((), (Action.suspension_lifted,)),
    "webhooks": (
        (),
        (Action.webhook_registered, Action.webhook_enabled, Action.webhook_deleted),
    ),
}


@dataclass(frozen=True)
class Filters:
    category: str | None = None  # a key of CATEGORIES; None is everything
    staff_id: int | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Entry:
    """One line of the log: who did what, to what, when."""

    occurred_at: datetime
    staff: str  # their address
    action: str  # a brief history action (publish, edit...) or an audit Action
    subject: str  # the brief's title, a member of staff's address, a group's name...
    brief_id: uuid.UUID | None = None
    significant: bool = False
    fields: list[str] = field(default_factory=list)
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


async def page(session: AsyncSession, filters: Filters, number: int) -> tuple[list[Entry], int]:
    """Page ``number`` (from 1) of the log, and how many entries the filters leave in all."""
    merged = _merged(filters).subquery()
    total = await session.scalar(select(func.count()).select_from(merged)) or 0
    rows = (
        await session.execute(
            select(merged)
            .order_by(merged.c.at.desc(), merged.c.source.desc(), merged.c.id.desc())
            .limit(PAGE)
            .offset((number - 1) * PAGE)
        )
    ).all()
    return await _entries(session, [(r.source, r.id) for r in rows]), total


async def every(session: AsyncSession, filters: Filters, chunk: int = 1000) -> AsyncIterator[Entry]:
    """Every entry the filters leave, newest first, read a chunk at a time (the CSV). Each
    chunk starts after the last one read, so entries added meanwhile neither repeat one nor
    push one out."""
    merged = _merged(filters).subquery()
    key = tuple_(merged.c.at, merged.c.source, merged.c.id)
    order = (merged.c.at.desc(), merged.c.source.desc(), merged.c.id.desc())
    last: tuple[datetime, int, int] | None = None
    while True:
        query = select(merged).order_by(*order).limit(chunk)
        if last is not None:
            at, source, row = last
            query = query.where(key < tuple_(literal(at, merged.c.at.type), source, row))
        rows = (await session.execute(query)).all()
        for entry in await _entries(session, [(r.source, r.id) for r in rows]):
            yield entry
        if len(rows) < chunk:
            return
        last = (rows[-1].at, rows[-1].source, rows[-1].id)


async def people(session: AsyncSession) -> list[tuple[int, str]]:
    """Everyone who appears in the log, or may: staff, current and removed, by address."""
    rows = await session.execute(
        select(StaffMember.id, StaffMember.email).order_by(StaffMember.email)
    )
    return [(staff_id, email) for staff_id, email in rows]


def _merged(filters: Filters) -> Any:
    briefs, others = CATEGORIES.get(filters.category or "", (None, None))
    parts = []
    if filters.category is None or briefs:
        query = select(
            BriefHistory.occurred_at.label("at"),
            literal(BRIEF).label("source"),
            BriefHistory.id.label("id"),
        )
        if briefs:
            query = query.where(BriefHistory.action.in_(briefs))
        parts.append(_narrowed(query, filters, BriefHistory.occurred_at, BriefHistory.staff_id))
    if filters.category is None or others:
        query = select(
            AuditEvent.occurred_at.label("at"),
            literal(OTHER).label("source"),
            AuditEvent.id.label("id"),
        )
        if others:
            query = query.where(AuditEvent.action.in_([str(a) for a in others]))
        parts.append(_narrowed(query, filters, AuditEvent.occurred_at, AuditEvent.staff_id))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def _narrowed(query: Any, filters: Filters, at: Any, who: Any) -> Any:
    if filters.staff_id is not None:
        query = query.where(who == filters.staff_id)
    if filters.start is not None:
        query = query.where(at >= filters.start)
    if filters.end is not None:
        query = query.where(at < filters.end)
    return query


async def _entries(session: AsyncSession, keys: Sequence[tuple[int, int]]) -> list[Entry]:
    """The entries of ``keys`` (source, id), in that order."""
    history_ids = [i for source, i in keys if source == BRIEF]
    event_ids = [i for source, i in keys if source == OTHER]
    found: dict[tuple[int, int], Entry] = {}
    if history_ids:
        rows = await session.execute(
            select(BriefHistory, StaffMember.email, Brief.title)
            .join(StaffMember, StaffMember.id == BriefHistory.staff_id)
            .join(Brief, Brief.id == BriefHistory.brief_id)
            .where(BriefHistory.id.in_(history_ids))
        )
        for entry, email, title in rows:
            found[(BRIEF, entry.id)] = Entry(
                occurred_at=entry.occurred_at,
                staff=email,
                action=entry.action,
                subject=title,
                brief_id=entry.brief_id,
                significant=entry.significant,
                fields=list((entry.changes or {}).get("fields", [])),
                note=entry.change_note,
            )
    if event_ids:
        events = await session.execute(
            select(AuditEvent, StaffMember.email)
            .join(StaffMember, StaffMember.id == AuditEvent.staff_id)
            .where(AuditEvent.id.in_(event_ids))
        )
        for event, email in events:
            found[(OTHER, event.id)] = Entry(
                occurred_at=event.occurred_at,
                staff=email,
                action=event.action,
                subject=event.subject,
                details=dict(event.details or {}),
            )
    return [found[key] for key in keys if key in found]
