"""What may be done with team discussion records: find the brief, record, read back, update.

Who may record is decided by the caller (a practitioner's session, a subscriber's signed link,
a staff session); this module checks the brief (published, not withdrawn) and, for a
restricted brief and a subscriber, that the brief was sent to them. A record is written with
its actions and the recorder's email in one transaction, or not at all.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from practice.discussions.models import ActionStatus, DiscussionAction, Recorder, TeamDiscussion
from practice.discussions.schemas import DiscussionIn
from service.briefs.models import Audience, Brief, Status
from service.errors import DomainError, NotFound
from service.mail.compose import Composer
from service.mail.queries import was_sent
from service.mail.service import Outgoing, enqueue
from service.staff.service import hash_token

KIND = "discussion_recorded"
ERASED = "erased@learnhub.invalid"


class Gone(DomainError):
    """The brief was withdrawn: a 410, named only to those who may read it."""

    code = "gone"
    status = 410

    def __init__(self, brief: Brief) -> None:
        super().__init__("This learning brief has been withdrawn")
        self.brief = brief


class RecordProblem(DomainError):
    """A link to a record that can't be used."""

    code = "invalid_token"
    status = 404


async def brief_to_discuss(session: AsyncSession, brief_id: uuid.UUID) -> Brief:
    """A published brief; Gone if withdrawn (or restored, not yet published again)."""
    brief = await session.get(Brief, brief_id)
    if brief is None or (brief.status != Status.published and brief.withdrawn_at is None):
        raise NotFound("no learning brief with that id")
    if brief.status != Status.published:
        raise Gone(brief)
    return brief


async def subscriber_may_record(
    session: AsyncSession, brief: Brief, email: str, *, practitioner: bool
) -> bool:
    """A restricted brief: only a practitioner's address it was sent to. Someone sent it
    while it was public, whose address is no practitioner's, may not see what it is now."""
    if brief.audience == Audience.public:
        return True
    return practitioner and await was_sent(session, email, brief.id)


async def record(
    session: AsyncSession,
    brief: Brief,
    data: DiscussionIn,
    *,
    recorder: Recorder,
    email: str,
    composer: Composer,
    base_url: str,
    now: datetime,
) -> TeamDiscussion:
    """Write the record and its actions, and queue the recorder's email with its link."""
    token = secrets.token_urlsafe(32)
    discussion = TeamDiscussion(
        brief_id=brief.id, brief_title=brief.title, held_on=data.held_on, team=data.team,
        agency=data.agency, borough=data.borough, practitioners=data.practitioners,
        reflections=data.reflections, recorder=recorder.value, recorder_email=email,
        token_hash=hash_token(token), recorded_at=now, updated_at=now,
        actions=[
            DiscussionAction(position=n, what=a.what, owner_role=a.owner_role, due_on=a.due_on,
                             status=ActionStatus.open.value)
            for n, a in enumerate(data.actions, start=1)
        ],
    )  # fmt: skip
    session.add(discussion)
    await session.flush()
    context = {
        "url": f"{base_url}/discussions/{token}",
        "title": brief.title,
        "held_on": f"{data.held_on.day} {data.held_on:%B %Y}",
        "team": data.team,
        "actions": [{"what": a.what, "owner_role": a.owner_role,
                     "due_on": f"{a.due_on.day} {a.due_on:%B %Y}"} for a in data.actions],
    }  # fmt: skip
    outgoing = Outgoing(
        kind=KIND, recipient=email, key=f"discussion:{discussion.id}", context=context
    )
    await enqueue(session, outgoing, composer=composer, now=now)
    return discussion


async def by_token(session: AsyncSession, token: str) -> TeamDiscussion:
    found = await session.scalar(
        select(TeamDiscussion).where(TeamDiscussion.token_hash == hash_token(token))
    )
    if found is None:
        raise RecordProblem(
            "This link to a team discussion record is not valid. Check that you copied all of "
            "it from the email we sent when the discussion was recorded."
        )
    return found


async def update_statuses(
    session: AsyncSession,
    discussion: TeamDiscussion,
    statuses: dict[int, ActionStatus],
    now: datetime,
) -> int:
    """Set each action's status; how many changed."""
    changed = 0
    for action in discussion.actions:
        status = statuses.get(action.position)
        if status is not None and status.value != action.status:
            action.status = status.value
            action.status_changed_at = now
            changed += 1
    if changed:
        discussion.updated_at = now
    return changed


async def held_for(session: AsyncSession, email: str) -> list[dict[str, object]]:
    """The records an address made, for its owner's export (no tokens)."""
    found = await session.scalars(
        select(TeamDiscussion)
        .where(TeamDiscussion.recorder_email == email)
        .order_by(TeamDiscussion.id)
    )
    return [
        {
            "brief_id": str(d.brief_id),
            "brief_title": d.brief_title,
            "held_on": d.held_on,
            "team": d.team,
            "agency": d.agency,
            "borough": d.borough,
            "practitioners": d.practitioners,
            "reflections": d.reflections,
            "recorded_at": d.recorded_at,
            "actions": [
                {"what": a.what, "owner_role": a.owner_role, "due_on": a.due_on, "status": a.status}
                for a in d.actions
            ],
        }
        for d in found
    ]


async def forget(session: AsyncSession, email: str) -> None:
    """Erase an address from the records it made: they are the team's, so they stay, with
    nobody named as their recorder (and the emailed link still opens them)."""
    await session.execute(
        update(TeamDiscussion)
        .where(TeamDiscussion.recorder_email == email)
        .values(recorder_email=ERASED)
    )
