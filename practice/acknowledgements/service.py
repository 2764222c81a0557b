"""Acknowledgements: open the link, record or update the answer, list, remove, export.

The link in an alert (``Links.acknowledge``) carries the person (id and token version) and
the brief, signed; a digest's (``Links.acknowledge_sent``) carries the person, signed, and the
brief's id after it, which opens only if the person was sent that brief. A forged, expired or
other purpose's token, or one of a person erased or whose links were replaced, finds
nothing. A GET only reads (``open``); ``record`` writes. Functions take the caller's session
and never commit.

What the page may show of the brief: the title the person was sent (their mail's delivery
record), since the link proves they were sent it, and nothing of its text. Without such a
record (its mail erased), the current title only if the brief is public or the person's
address may receive restricted briefs; else no title at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from practice.acknowledgements.models import Acknowledgement
from practice.acknowledgements.schemas import AcknowledgementIn, AcknowledgementOut
from service.briefs.audience import in_domains
from service.briefs.models import Audience, Brief, Status
from service.db import dialect_insert, table_of
from service.errors import DomainError, NotFound
from service.mail.models import MailDelivery, MailMessage, MailStatus
from service.mail.queries import was_sent
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.tokens import (
    NOT_VALID,
    Purpose,
    TokenProblem,
    Tokens,
    brief_in_link,
)


class Withdrawn(DomainError):
    """The brief was withdrawn (or restored to a draft since): the site's 410 page."""

    code = "gone"
    status = 410

    def __init__(self, brief: Brief, *, readable: bool) -> None:
        super().__init__("This learning brief has been withdrawn.")
        self.brief = brief
        self.readable = readable  # the person's address may receive the brief


@dataclass(frozen=True)
class Opened:
    """What an acknowledgement link opens: whose, which brief, and what may be shown."""

    subscriber: Subscriber
    brief_id: uuid.UUID
    title: str | None  # None: the page names no title
    readable: bool  # the person may read the brief online (public, or a practitioner address)
    existing: Acknowledgement | None


@dataclass(frozen=True)
class Listed:
    """An acknowledgement on the person's manage page."""

    acknowledgement: Acknowledgement
    withdrawn: bool  # the brief is no longer published


async def open_link(
    session: AsyncSession,
    tokens: Tokens,
    token: str,
    practitioner_domains: Iterable[str],
    brief_named: str | None = None,
) -> Opened:
    """The person and brief a link names; raises TokenProblem, NotFound or Withdrawn.

    An alert's link (and a digest's before 5 December 2026) is a token naming the person and
    the brief. A digest's is a token naming the person, with the brief's id after it
    (``brief_named``): only a brief the person was sent opens, and any other is the same
    "This link can't be used" as a forged token, whether or not the brief exists.
    """
    if brief_named is None:
        claims = tokens.read(token, Purpose.acknowledge)
        assert claims.brief_id is not None  # Tokens.read refuses an acknowledgement without one
        brief_id = claims.brief_id
    else:
        claims = tokens.read(token, Purpose.acknowledge_sent)
        brief_id = brief_in_link(brief_named)
    subscriber = await session.get(Subscriber, claims.subscriber_id)
    if subscriber is None or subscriber.token_version != claims.version:
        raise TokenProblem(
            "This link no longer works. The subscription may have been erased, or the links "
            "replaced by newer ones."
        )
    if brief_named is not None and not await was_sent(session, subscriber.email, brief_id):
        raise TokenProblem(NOT_VALID)
    brief = await session.get(Brief, brief_id)
    if brief is None or (brief.status != Status.published and brief.withdrawn_at is None):
        raise NotFound("no such learning brief")
    readable = brief.audience == Audience.public or in_domains(
        subscriber.domain, practitioner_domains
    )
    if brief.status != Status.published:
        raise Withdrawn(brief, readable=readable)
    title = await title_sent(session, subscriber.email, brief.id)
    existing = await session.scalar(
        select(Acknowledgement).where(
            Acknowledgement.subscriber_id == subscriber.id,
            Acknowledgement.brief_id == brief.id,
        )
    )
    return Opened(
        subscriber=subscriber,
        brief_id=brief.id,
        title=title or (brief.title if readable else None),
        readable=readable,
        existing=existing,
    )


async def title_sent(session: AsyncSession, email: str, brief_id: uuid.UUID) -> str | None:
    """The title the person's latest email about the brief gave it, if any is on record."""
    title = await session.scalar(
        select(MailDelivery.title)
        .join(MailMessage, MailMessage.id == MailDelivery.message_id)
        .where(
            MailDelivery.brief_id == brief_id,
            MailMessage.recipient == email,
            MailMessage.status != MailStatus.cancelled.value,
            MailDelivery.title != "",
        )
        .order_by(MailMessage.id.desc())
        .limit(1)
    )
    return title or None


async def record(
    session: AsyncSession, opened: Opened, data: AcknowledgementIn, now: datetime
) -> None:
    """Acknowledge the brief, or update the answer of an acknowledgement made before.

    One statement (INSERT … ON CONFLICT DO UPDATE): two presses at once make one row.
    """
    table = table_of(Acknowledgement)
    insert = dialect_insert(session, table).values(
        subscriber_id=opened.subscriber.id,
        brief_id=opened.brief_id,
        brief_title=opened.title or "",
        answer=data.answer,
        acknowledged_at=now,
        updated_at=now,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["subscriber_id", "brief_id"],
            set_={"answer": insert.excluded.answer, "updated_at": insert.excluded.updated_at},
        )
    )


async def of_person(session: AsyncSession, subscriber_id: int) -> Sequence[Listed]:
    """The person's acknowledgements, newest first, with whether each brief is withdrawn."""
    rows = await session.execute(
        select(Acknowledgement, Brief.status)
        .join(Brief, Brief.id == Acknowledgement.brief_id)
        .where(Acknowledgement.subscriber_id == subscriber_id)
        .order_by(Acknowledgement.acknowledged_at.desc(), Acknowledgement.id.desc())
    )
    return [Listed(ack, status != Status.published) for ack, status in rows]


async def remove(session: AsyncSession, subscriber_id: int, acknowledgement_id: int) -> bool:
    """Delete one of the person's acknowledgements; False if they have none by that id."""
    result = await session.execute(
        delete(Acknowledgement)
        .where(
            Acknowledgement.id == acknowledgement_id,
            Acknowledgement.subscriber_id == subscriber_id,
        )
        .returning(Acknowledgement.id)
    )
    return result.first() is not None


async def export(session: AsyncSession, subscriber_id: int) -> list[dict[str, object]]:
    """The person's acknowledgements as the subject-access export shows them (dates and ids
    as the rest of the export writes them)."""
    return [
        AcknowledgementOut(
            brief_id=listed.acknowledgement.brief_id,
            title=listed.acknowledgement.brief_title,
            answer=listed.acknowledgement.answer,
            acknowledged_at=listed.acknowledgement.acknowledged_at,
            updated_at=listed.acknowledgement.updated_at,
        ).model_dump()
        for listed in await of_person(session, subscriber_id)
    ]
