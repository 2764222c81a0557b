"""What follows a brief taken back: queued mail cancelled, and its readers told.

A withdrawal cancels every alert still queued with the brief (pending digests are rewritten
without it, in digests.revise) and tells each person who was sent it, naming only what they
were sent: the title on their delivery record, never the brief's current one, and the
public reason only if they may still read the brief. An edit that narrows a brief to
practitioners cancels what is queued for anyone else, and tells nobody: what they were sent
was public when it was sent. See docs/lifecycle.md.

While a message carrying the brief is being sent, its outcome is not known yet, so the
handler waits (``Later``) and looks again: a temporary failure puts it back in the queue,
where it is then cancelled; a success makes its reader one to tell.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs.audience import in_domains
from service.briefs.models import Audience, Brief, Status
from service.events import service as events
from service.events.dispatcher import Later
from service.events.models import Event, EventType
from service.mail.bulk import queue_in_bulk
from service.mail.carrying import ANNOUNCING, Holder, cancel, carrying, latest
from service.mail.compose import Composer
from service.mail.models import MailDelivery, MailMessage, MailStatus
from service.mail.service import Carried, Outgoing
from service.settings import Settings
from subscribers.groups.models import GroupMember
from subscribers.subscriptions.links import Links
from subscribers.subscriptions.models import Subscriber, SubscriptionState

Sessions = async_sessionmaker[AsyncSession]
log = logging.getLogger(__name__)
WITHDRAWN = "the brief was withdrawn first"
NARROWED = "the brief became practitioners-only first"


def taken_back(event: Event) -> bool:
    """Whether the event takes a brief back from some readers: a withdrawal or a narrowing."""
    return event.type == EventType.withdrawn or bool(event.payload.get("narrowed"))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def concerned(event: Event, holders: Iterable[Holder], domains: Sequence[str]) -> list[Holder]:
    """Everyone, for a withdrawal; those outside the practitioner domains, for a narrowing."""
    if event.type == EventType.withdrawn:
        return list(holders)
    return [h for h in holders if not in_domains(domain_of(h.recipient), domains)]


def reason_of(event: Event) -> str:
    """Why a queued message carrying the brief was cancelled, for its row."""
    return WITHDRAWN if event.type == EventType.withdrawn else NARROWED


async def cancel_alerts(session: AsyncSession, event: Event, domains: Sequence[str]) -> None:
    """Cancel the pending alerts that carry the brief, to those the event concerns."""
    queued = await carrying(
        session, event.brief_id, kinds=("alert",), statuses=(MailStatus.pending,)
    )
    await cancel(
        session, [h.message_id for h in concerned(event, queued, domains)], reason_of(event)
    )


async def wait_for_sending(
    sessions: Sessions, event: Event, *, kinds: Sequence[str], domains: Sequence[str]
) -> None:
    """Raise ``Later`` while a message the event concerns is being sent: until its outcome
    is known, nobody can say whether it must be cancelled or its reader told."""
    async with sessions() as session:
        in_flight = await carrying(
            session, event.brief_id, kinds=kinds, statuses=(MailStatus.sending,)
        )
    waiting = concerned(event, in_flight, domains)
    if waiting:
        raise Later(f"{len(waiting)} emails carrying brief {event.brief_id} are being sent")


@dataclass(frozen=True)
class Notices:
    composer: Composer
    links: Links
    settings: Settings

    async def on_taken_back(
        self, sessions: Sessions, event: Event, sent: Callable[[], None]
    ) -> None:
        if not taken_back(event):
            return
        domains = self.settings.practitioner_domains
        # Done first by digests.revise, before it waits; again here, for an alert put back
        # in the queue by a failed attempt while the event waited.
        async with sessions.begin() as session:
            await cancel_alerts(session, event, domains)
        await wait_for_sending(sessions, event, kinds=ANNOUNCING, domains=domains)
        if event.type != EventType.withdrawn:
            return
        await queue_in_bulk(
            [event],
            self._notices,
            reads=sessions,
            writes=sessions,
            composer=self.composer,
            now=event.occurred_at,
            wake=sent,
        )

    async def _notices(self, session: AsyncSession, event: Event) -> list[Outgoing]:
        """A notice to each person sent this publication of the brief, naming what they got."""
        publication = event.payload.get("publication")  # absent from events before 0008
        held = await carrying(
            session,
            event.brief_id,
            kinds=ANNOUNCING,
            statuses=(MailStatus.sent,),
            publication=publication,
        )
        last = latest(held)
        people = await session.scalars(
            select(Subscriber).where(Subscriber.email.in_(list(last)), *receiving())
        )
        return [self._notice(event, person, last[person.email]) for person in people]

    def _notice(self, event: Event, person: Subscriber, holder: Holder) -> Outgoing:
        public = event.payload.get("audience", Audience.public) == Audience.public
        may_read = public or in_domains(person.domain, self.settings.practitioner_domains)
        context = {
            "title": holder.title,
            "sent_on": holder.sent_at or event.occurred_at,
            "reason": event.payload.get("reason") if may_read else None,
            "withdrawn_on": event.occurred_at,
            "manage_url": self.links.manage(person),
        }
        return Outgoing(
            kind="withdrawal",
            recipient=person.email,
            key=f"withdrawal:{event.brief_id}:{event.id}:{person.id}",
            context=context,
            unsubscribe_url=self.links.unsubscribe(person),
            briefs=[Carried(event.brief_id, holder.revision, holder.publication, holder.title)],
            personal=("manage_url",),
        )


async def told_of_withdrawal(
    session: AsyncSession, event: Event, *, audience: str, practitioner_domains: Sequence[str]
) -> list[Subscriber]:
    """Who was told (or is about to be) that the brief had been withdrawn, may read it now,
    and still gets email."""
    return await told_of_withdrawal_of(
        session, event.brief_id, audience=audience, practitioner_domains=practitioner_domains
    )


async def told_of_withdrawal_of(
    session: AsyncSession,
    brief_id: uuid.UUID,
    *,
    audience: str,
    practitioner_domains: Sequence[str],
) -> list[Subscriber]:
    """``told_of_withdrawal`` for a brief by its id (what the console counts before a brief
    is published again)."""
    told = await carrying(
        session,
        brief_id,
        kinds=("withdrawal",),
        statuses=(MailStatus.pending, MailStatus.sending, MailStatus.sent),
    )
    if not told:
        return []
    people = await session.scalars(
        select(Subscriber)
        .where(Subscriber.email.in_({h.recipient for h in told}), *receiving())
        .order_by(Subscriber.id)
    )
    restricted = audience != Audience.public
    return [p for p in people if not restricted or in_domains(p.domain, practitioner_domains)]


def receiving() -> list[ColumnElement[bool]]:
    """Conditions on a subscriber who still gets email: not paused, and either their own
    subscription is active or they are a confirmed member of a group. Someone who ended
    their emails hears nothing more, not even of a withdrawal."""
    member = select(GroupMember.subscriber_id).where(
        GroupMember.subscriber_id == Subscriber.id, GroupMember.confirmed_at.is_not(None)
    )
    return [
        Subscriber.paused_at.is_(None),
        or_(Subscriber.status == SubscriptionState.active.value, exists(member)),
    ]


async def recheck_audience(sessions: Sessions, settings: Settings, now: datetime) -> list[Event]:
    """Events taking back restricted briefs queued to addresses no longer in the practitioner
    domains: one for each such brief, as for a narrowing, committed.

    Run at start, before mail is sent: the domains are settings, and may have shrunk since
    the mail was queued. The caller runs the take-back at once (learnhub.app); the
    dispatcher handles the events too, finding nothing left to do, or what had to wait.
    """
    domains = settings.practitioner_domains
    async with sessions.begin() as session:
        rows = await session.execute(
            select(Brief, MailMessage.recipient)
            .join(MailDelivery, MailDelivery.brief_id == Brief.id)
            .join(MailMessage, MailMessage.id == MailDelivery.message_id)
            .where(
                Brief.status == Status.published.value,
                Brief.audience == Audience.practitioners.value,
                MailMessage.status.in_([MailStatus.pending.value, MailStatus.sending.value]),
                MailMessage.kind.in_(ANNOUNCING),
            )
        )
        briefs = {
            brief.id: brief
            for brief, recipient in rows
            if not in_domains(domain_of(recipient), domains)
        }
        recorded = []
        for brief in briefs.values():
            payload = {"changes": [], "narrowed": True, "why": "practitioner domains changed"}
            recorded.append(
                await events.record(session, brief, EventType.edited, now=now, payload=payload)
            )
    if briefs:
        log.warning(
            "%d restricted briefs were queued to addresses no longer in the practitioner "
            "domains: taking them back",
            len(briefs),
        )
    return recorded
