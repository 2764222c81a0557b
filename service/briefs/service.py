"""Briefs: create, edit, and move through draft -> published -> withdrawn (-> restored draft).

Functions take the caller's session and never commit: the handler or command that calls
them owns the transaction, so the change, its history row and its event commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs import corrections
from service.briefs.models import Audience, Brief, BriefHistory, Status
from service.briefs.render import render_summary
from service.briefs.schemas import BRIEFING_FIELDS, BriefCreate, BriefUpdate, Urgency
from service.briefs.tags import apply as apply_tags
from service.briefs.tags import check_codes, suggest
from service.errors import Conflict, NotFound
from service.events import service as events
from service.events.models import EventType
from service.staff.models import StaffMember
from service.tagging import Tagger
from service.taxonomy import FACETS, Taxonomy

CONTENT_FIELDS = (
    "title",
    "summary",
    "learning_points",
    "source",
    "audience",
    *BRIEFING_FIELDS,
)


class Lifecycle(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        brief_id: uuid.UUID,
        *,
        staff: StaffMember,
        now: datetime,
        note: str | None,
    ) -> Awaitable[Brief]: ...


@dataclass(frozen=True)
class Tagging:
    taxonomy: Taxonomy
    tagger: Tagger


async def get(session: AsyncSession, brief_id: uuid.UUID, *, lock: bool = False) -> Brief:
    query = select(Brief).where(Brief.id == brief_id)
    brief = await session.scalar(query.with_for_update() if lock else query)
    if brief is None:
        raise NotFound(f"no brief with id {brief_id}")
    return brief


async def create(
    session: AsyncSession, data: BriefCreate, *, staff: StaffMember, tagging: Tagging, now: datetime
) -> Brief:
    chosen = {facet: getattr(data, facet) for facet in FACETS}
    check_codes(tagging.taxonomy, chosen)
    brief = Brief(
        id=uuid.uuid4(),
        title=data.title,
        summary=data.summary,
        summary_html=render_summary(data.summary),
        learning_points=list(data.learning_points),
        audience=data.audience,
        status=Status.draft.value,
        revision=1,
        created_at=now,
        updated_at=now,
        created_by=staff.id,
        publisher_facets=[],
        tags=[],
        urgent=False,
    )
    _set_source(brief, data.source)
    _set_briefing(brief, data, BRIEFING_FIELDS)
    _set_urgency(brief, data)
    suggestions = suggest(brief, tagging.tagger)
    apply_tags(brief, suggestions, chosen)
    session.add(brief)
    _history(session, brief, "create", staff, now, changes=list(CONTENT_FIELDS))
    await session.flush()
    await corrections.record(session, brief, suggestions, chosen, staff=staff, now=now)
    return brief


async def update(
    session: AsyncSession,
    brief_id: uuid.UUID,
    data: BriefUpdate,
    *,
    staff: StaffMember,
    tagging: Tagging,
    now: datetime,
) -> Brief:
    brief = await get(session, brief_id, lock=True)
    if brief.status == Status.withdrawn:
        raise Conflict("a withdrawn brief can't be edited; restore it first")
    if data.significant and brief.status != Status.published:
        raise Conflict("only a published brief can have a significant update; this is a draft")
    chosen = {facet: getattr(data, facet) for facet in FACETS}
    check_codes(tagging.taxonomy, chosen)
    before = _snapshot(brief)
    # Marking a published brief urgent announces it again, to everyone it matches: a
    # significant update (docs/lifecycle.md), the urgent reason saying what changed.
    became_urgent = bool(data.urgent) and not brief.urgent and brief.status == Status.published
    significant = data.significant or became_urgent
    _set_urgency(brief, data)
    _set_content(brief, data)
    suggestions = suggest(brief, tagging.tagger)
    apply_tags(brief, suggestions, chosen)
    changes = [field for field, value in _snapshot(brief).items() if before[field] != value]
    if not changes:
        await corrections.record(session, brief, suggestions, chosen, staff=staff, now=now)
        return brief
    brief.revision += 1
    brief.updated_at = now
    note = data.change_note or (brief.urgent_reason if became_urgent else None)
    _history(session, brief, "edit", staff, now, changes, note, significant)
    await corrections.record(session, brief, suggestions, chosen, staff=staff, now=now)
    if brief.status != Status.published:
        await session.flush()
        return brief
    was_public = before["audience"] == Audience.public
    payload: dict[str, Any] = {"changes": changes}
    # Narrowed to practitioners: whatever is still queued for others must not go (decision
    # 0009, docs/lifecycle.md); the handlers of the event take it back.
    if was_public and brief.audience == Audience.practitioners:
        payload["narrowed"] = True
    if significant:
        brief.notified_at = now
        payload["change_note"] = note
        payload.update(_urgent(brief))
        kind = EventType.updated
    else:
        kind = EventType.edited
    await events.record(session, brief, kind, now=now, payload=payload, was_public=was_public)
    await session.flush()
    return brief


async def publish(
    session: AsyncSession,
    brief_id: uuid.UUID,
    *,
    staff: StaffMember,
    now: datetime,
    note: str | None,
    urgency: Urgency | None = None,
) -> Brief:
    """Publish a draft; ``urgency`` may mark it urgent (or not) as it goes."""
    brief = await _locked_in(session, brief_id, Status.draft, "published")
    if urgency is not None:
        _set_urgency(brief, urgency)
    republished = brief.published_at is not None
    brief.status = Status.published.value
    brief.published_at = brief.published_at or now
    brief.notified_at = now
    brief.publication += 1
    brief.withdrawn_at = None
    brief.withdrawn_reason = None
    _history(session, brief, "publish", staff, now, change_note=note)
    payload = {"republished": republished, **_urgent(brief)}
    await events.record(session, brief, EventType.published, now=now, payload=payload)
    await session.flush()
    return brief


async def withdraw(
    session: AsyncSession,
    brief_id: uuid.UUID,
    *,
    staff: StaffMember,
    now: datetime,
    note: str | None,
    reason: str | None = None,
) -> Brief:
    """Take a published brief down. ``reason`` is public (shown on its page and emailed to
    those who were sent it); ``note`` stays in the history, for staff."""
    brief = await _locked_in(session, brief_id, Status.published, "withdrawn")
    brief.status = Status.withdrawn.value
    brief.withdrawn_at = now
    brief.withdrawn_reason = reason
    _history(session, brief, "withdraw", staff, now, change_note=note)
    payload = {"reason": reason, "audience": brief.audience}
    await events.record(session, brief, EventType.withdrawn, now=now, payload=payload)
    await session.flush()
    return brief


async def restore(
    session: AsyncSession,
    brief_id: uuid.UUID,
    *,
    staff: StaffMember,
    now: datetime,
    note: str | None,
) -> Brief:
    """Bring a withdrawn brief back as a draft, to be edited and published again."""
    brief = await _locked_in(session, brief_id, Status.withdrawn, "restored")
    brief.status = Status.draft.value
    _history(session, brief, "restore", staff, now, change_note=note)
    await session.flush()
    return brief


async def history(session: AsyncSession, brief_id: uuid.UUID) -> list[tuple[BriefHistory, str]]:
    rows = await session.execute(
        select(BriefHistory, StaffMember.email)
        .join(StaffMember, StaffMember.id == BriefHistory.staff_id)
        .where(BriefHistory.brief_id == brief_id)
        .order_by(BriefHistory.id)
    )
    return [(entry, email) for entry, email in rows]


NOUNS = {
    Status.draft: "a draft",
    Status.published: "a published brief",
    Status.withdrawn: "a withdrawn brief",
}


async def _locked_in(
    session: AsyncSession, brief_id: uuid.UUID, status: Status, verb: str
) -> Brief:
    """The brief, locked for the move, if it is in the one state the move starts from."""
    brief = await get(session, brief_id, lock=True)
    if brief.status != status:
        raise Conflict(f"only {NOUNS[status]} can be {verb}; this brief is {brief.status}")
    return brief


def _set_urgency(brief: Brief, data: Urgency) -> None:
    """Urgent with its reason, or not urgent (no reason); left out, as it was."""
    if data.urgent is not None:
        brief.urgent = data.urgent
        brief.urgent_reason = data.urgent_reason if data.urgent else None
    elif data.urgent_reason is not None and brief.urgent:
        brief.urgent_reason = data.urgent_reason


def _urgent(brief: Brief) -> dict[str, str]:
    """What an announcing event says of urgency: the reason, if the brief is urgent."""
    return {"urgent": brief.urgent_reason or ""} if brief.urgent else {}


def _set_content(brief: Brief, data: BriefUpdate) -> None:
    if data.title is not None:
        brief.title = data.title
    if data.summary is not None:
        brief.summary = data.summary
        brief.summary_html = render_summary(data.summary)
    if data.learning_points is not None:
        brief.learning_points = list(data.learning_points)
    if data.audience is not None:
        brief.audience = data.audience
    if data.source is not None:
        _set_source(brief, data.source)
    # Left out, a briefing field keeps its value; null or an empty list clears it.
    _set_briefing(brief, data, [f for f in BRIEFING_FIELDS if f in data.model_fields_set])


def _set_briefing(brief: Brief, data: BriefCreate | BriefUpdate, fields: Any) -> None:
    for field in fields:
        value = getattr(data, field)
        if field == "resources":
            value = [{"title": r.title, "url": str(r.url)} for r in value or []]
        elif field in ("actions", "questions"):
            value = list(value or [])
        setattr(brief, field, value)


def _set_source(brief: Brief, source: Any) -> None:
    brief.source_review = source.review
    brief.source_board = source.board
    brief.source_published_on = source.published_on
    brief.source_url = str(source.url) if source.url else None


def _snapshot(brief: Brief) -> dict[str, Any]:
    return {
        "title": brief.title,
        "summary": brief.summary,
        "learning_points": list(brief.learning_points),
        "source": (
            brief.source_review,
            brief.source_board,
            brief.source_published_on,
            brief.source_url,
        ),
        "audience": brief.audience,
        "background": brief.background,
        "why_it_matters": brief.why_it_matters,
        "actions": list(brief.actions or []),
        "questions": list(brief.questions or []),
        "resources": [dict(r) for r in brief.resources or []],
        "urgent": (brief.urgent, brief.urgent_reason),
        **{facet: brief.codes(facet) for facet in FACETS},
    }


def _history(
    session: AsyncSession,
    brief: Brief,
    action: str,
    staff: StaffMember,
    now: datetime,
    changes: list[str] | None = None,
    change_note: str | None = None,
    significant: bool = False,
) -> None:
    session.add(
        BriefHistory(
            brief_id=brief.id,
            revision=brief.revision,
            action=action,
            staff_id=staff.id,
            occurred_at=now,
            changes={"fields": changes or []},
            change_note=change_note,
            significant=significant,
        )
    )
