"""Immediate alerts: event handlers that queue one email per person per brief publication
and revision (a brief published again after a withdrawal is news again).

A publication's alerts are queued in chunks through the mail domain's bulk path
(service.mail.bulk): each chunk is composed and rendered on the read side while the one
before is inserted, and the mail worker is woken after each commit, so the first alerts
leave while the rest are being rendered. The idempotency key (brief, publication, revision,
person) makes a rerun of a handler that failed half-way queue nothing twice. Everyone told
of a brief for the same reasons gets the same email but for their own links, so it is
rendered once per set of reasons (the job's Drafts).

Urgent learning (the event names the reason) goes to everyone the brief matches, whatever
how often they asked for email: daily and weekly subscribers and groups get it at once too,
and their next digest leaves it out, as it leaves out any brief they were sent already
(digests.window).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs.briefing import email_context
from service.briefs.models import Brief, Status
from service.events.models import Event, EventType
from service.mail.bulk import queue_in_bulk, turn
from service.mail.compose import Composer
from service.mail.service import Carried, Drafts, Outgoing
from service.settings import Settings
from service.taxonomy import Facet, Taxonomy
from subscribers.alerts.matching import Recipient, facts_of, recipients
from subscribers.alerts.notices import told_of_withdrawal
from subscribers.alerts.reasons import Tagged, chosen_filters, reasons
from subscribers.subscriptions.links import Links

Sessions = async_sessionmaker[AsyncSession]
# The first chunk is small, for the first alerts to leave at once; each next one is twice as
# large, up to the last size, where the cost of a round of queries is spread thin.
ALERT_CHUNKS = (100, 200, 400, 800, 2000)
IMMEDIATE = ("immediate",)
EVERY_FREQUENCY = ("immediate", "daily", "weekly")


@dataclass
class Publication:
    """What the chunks of one publication's alerts share: worked out or rendered once."""

    brief: Brief
    event: Event
    change_note: str | None
    tagged: Tagged
    urgent: str | None  # why it is urgent, if it is
    # The briefing's link and the summary's short lead: the same for everyone.
    briefing: dict[str, Any] = field(default_factory=dict)
    drafts: Drafts = field(default_factory=Drafts)


@dataclass(frozen=True)
class Alerts:
    """What the handlers need, built once when the service starts."""

    composer: Composer
    links: Links
    taxonomy: Taxonomy
    settings: Settings
    # Matching only reads: on SQLite a write session would hold the write lock for the scan.
    reads: Sessions

    async def on_brief(self, sessions: Sessions, event: Event, sent: Callable[[], None]) -> None:
        """brief.published and brief.updated: tell every immediate subscriber it concerns.

        Alerts are queued in chunks, each committed and handed to the mail worker at once, so
        the first arrive while the rest are still being written. A retry after a failure
        repeats nothing: each alert's key names the brief, its publication and revision, and
        the person.
        """
        async with self.reads() as session:
            brief = await session.get(Brief, event.brief_id)
            if brief is None or brief.status != Status.published:
                return  # withdrawn before we got to it: there is nothing to announce
            if event.payload.get("publication", brief.publication) != brief.publication:
                return  # withdrawn and published again since: the newer event announces it
            urgent = "urgent" in event.payload
            found = await self._matching(session, brief, EVERY_FREQUENCY if urgent else IMMEDIATE)
            if event.type == EventType.published and event.payload.get("republished"):
                found = await self._with_those_told(session, event, brief, found)
        publication = self.publication(brief, event)

        async def compose(session: AsyncSession, chunk: Sequence[Recipient]) -> list[Outgoing]:
            return await self.compose(session, publication, chunk)

        await queue_in_bulk(
            _chunks(found),
            compose,
            reads=self.reads,
            writes=sessions,
            composer=self.composer,
            now=event.occurred_at,
            drafts=publication.drafts,
            wake=sent,
        )

    async def _matching(
        self, session: AsyncSession, brief: Brief, frequencies: tuple[str, ...]
    ) -> list[Recipient]:
        """Everyone the brief matches at these frequencies, each person once."""
        facts = facts_of(brief)
        by_id: dict[int, Recipient] = {}
        for frequency in frequencies:
            for person in await recipients(
                session,
                facts,
                frequency=frequency,
                taxonomy=self.taxonomy,
                practitioner_domains=self.settings.practitioner_domains,
            ):
                known = by_id.setdefault(person.id, person)
                if known is not person:  # their own subscription at one, a group at another
                    known.subscribed = known.subscribed or person.subscribed
                    known.groups += [g for g in person.groups if g not in known.groups]
        if len(frequencies) == 1:
            return list(by_id.values())
        return sorted(by_id.values(), key=lambda r: r.id)

    async def _with_those_told(
        self, session: AsyncSession, event: Event, brief: Brief, found: list[Recipient]
    ) -> list[Recipient]:
        """Everyone told of the brief's withdrawal hears that it is back, whatever they follow
        and however often they get email; the others are told of it as of any new brief."""
        told = await told_of_withdrawal(
            session,
            event,
            audience=brief.audience,
            practitioner_domains=self.settings.practitioner_domains,
        )
        by_id = {r.id: r for r in found}
        for person in told:
            recipient = by_id.get(person.id)
            if recipient is None:
                recipient = Recipient(person.id, person.email, person.token_version)
                by_id[person.id] = recipient
            recipient.back = True
        return sorted(by_id.values(), key=lambda r: r.id)

    def publication(self, brief: Brief, event: Event) -> Publication:
        note = event.payload.get("change_note") if event.type == EventType.updated else None
        briefing = email_context(brief, self.settings.base_url)
        urgent = event.payload.get("urgent")
        tagged = Tagged.of(brief, self.taxonomy)
        return Publication(brief, event, note, tagged, urgent, briefing)

    async def compose(
        self, session: AsyncSession, publication: Publication, chunk: Sequence[Recipient]
    ) -> list[Outgoing]:
        """One chunk's alerts (rendered by the bulk path); only reads."""
        brief, event = publication.brief, publication.event
        filters = await chosen_filters(session, [r.id for r in chunk if r.subscribed])
        outgoing = []
        for n, r in enumerate(chunk, start=1):
            outgoing.append(
                self._alert(
                    brief,
                    publication.tagged,
                    event,
                    r,
                    filters.get(r.id, {}),
                    publication.change_note,
                    publication.urgent,
                    publication.briefing,
                )
            )
            await turn(n)  # the mail worker's lanes get their turn
        return outgoing

    def _alert(
        self,
        brief: Brief,
        tagged: Tagged,
        event: Event,
        recipient: Recipient,
        filters: dict[Facet, set[str]],
        change_note: str | None,
        urgent: str | None,
        briefing: dict[str, Any],
    ) -> Outgoing:
        context = {
            **briefing,
            "brief": brief,
            "brief_url": f"{self.settings.base_url}/briefs/{brief.id}",
            "change_note": change_note,
            "urgent_reason": urgent,
            "back": recipient.back,
            "reasons": reasons(tagged, recipient, filters),
            "manage_url": self.links.manage(recipient),
            "acknowledge_url": self.links.acknowledge(recipient, brief.id),
            "discuss_url": self.links.discuss(recipient, brief.id),
        }
        publication = event.payload.get("publication")
        return Outgoing(
            kind="alert",
            recipient=recipient.email,
            key=alert_key(event, recipient),
            context=context,
            unsubscribe_url=self.links.unsubscribe(recipient),
            briefs=[Carried(brief.id, event.revision, publication or 1, brief.title)],
            personal=("manage_url", "acknowledge_url", "discuss_url"),
        )


def alert_key(event: Event, recipient: Recipient) -> str:
    """One alert per person per publication and revision of a brief: published again after
    a withdrawal, it is news again. Events from before publications were counted (0008)
    keep the keys their alerts were queued under."""
    publication = event.payload.get("publication")
    if publication is None:
        return f"alert:{event.brief_id}:{event.revision}:{recipient.id}"
    return f"alert:{event.brief_id}:{publication}.{event.revision}:{recipient.id}"


def _chunks(found: Sequence[Recipient]) -> Iterator[Sequence[Recipient]]:
    start = 0
    for n in itertools.count():
        if start >= len(found):
            return
        size = ALERT_CHUNKS[min(n, len(ALERT_CHUNKS) - 1)]
        yield found[start : start + size]
        start += size
