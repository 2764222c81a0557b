"""Immediate alerts: event handlers that queue one email per person per brief publication
and revision (a brief published again after a withdrawal is news again).

A publication's alerts are queued in chunks, each committed on its own so that the mail
worker starts on the first while the rest are rendered; the idempotency key (brief,
revision, person) makes a rerun of a handler that failed half-way queue nothing twice.
Everyone told of a brief for the same reasons gets the same email but for their own links,
so it is rendered once per set of reasons (Drafts).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs.models import Brief, Status
from service.events.models import Event, EventType
from service.mail.compose import Composer
from service.mail.service import (
    RENDER_SLICE,
    Carried,
    Drafts,
    Outgoing,
    Prepared,
    enqueue_prepared,
    overlapped,
    prepare_many,
)
from service.settings import Settings
from service.taxonomy import FACETS, Facet, Taxonomy
from subscribers.links import Links
from subscribers.matching import BriefFacts, Recipient, recipients, widen
from subscribers.models import SubscriptionCode
from subscribers.notices import told_of_withdrawal

if TYPE_CHECKING:
    from subscribers.fanout import Fanout

Sessions = async_sessionmaker[AsyncSession]
CODES_CHUNK = 1000
# The first chunk is small, for the first alerts to leave at once; each next one is twice as
# large, up to the last size, where the cost of a round of queries is spread thin.
ALERT_CHUNKS = (100, 200, 400, 800, 2000)
# A chunk is inserted in transactions of at most this many alerts: on SQLite the mail worker
# writes its outcomes through the same connection (or, from a fan-out process, meets these
# inserts at SQLite's lock), and waits for at most one of them.
INSERT_CHUNK = 250


@dataclass
class Publication:
    """What the chunks of one publication's alerts share: worked out or rendered once."""

    brief: Brief
    event: Event
    change_note: str | None
    tagged: Tagged
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
    # Composes and queues the alerts in processes of their own (LEARNHUB_FANOUT_PROCESSES,
    # subscribers.fanout); None: here, on this event loop.
    fanout: Fanout | None = None

    async def on_brief(self, sessions: Sessions, event: Event, sent: Callable[[], None]) -> None:
        """brief.published and brief.updated: tell every immediate subscriber it concerns.

        Alerts are queued in chunks, each committed and handed to the mail worker at once, so
        the first arrive while the rest are still being written. A retry after a failure
        repeats nothing: each alert's key names the brief, its revision and the person.
        """
        async with self.reads() as session:
            brief = await session.get(Brief, event.brief_id)
            if brief is None or brief.status != Status.published:
                return  # withdrawn before we got to it: there is nothing to announce
            if event.payload.get("publication", brief.publication) != brief.publication:
                return  # withdrawn and published again since: the newer event announces it
            found = await recipients(
                session,
                facts_of(brief),
                frequency="immediate",
                taxonomy=self.taxonomy,
                practitioner_domains=self.settings.practitioner_domains,
            )
            if event.type == EventType.published and event.payload.get("republished"):
                found = await self._with_those_told(session, event, brief, found)
        fanout = self.fanout
        # When no process could be started (the log says why), the alerts are queued here.
        if fanout and await fanout.queue(event.id, brief.revision, _chunks(found), sent):
            return
        publication = self.publication(brief, event)

        async def rendered() -> AsyncGenerator[list[Prepared], None]:
            for chunk in _chunks(found):
                yield await self.prepare(publication, chunk)

        async def insert(prepared: list[Prepared]) -> None:
            await queue_prepared(sessions, prepared, sent)

        # Each chunk is rendered on the read side while the one before is being inserted; the
        # write transactions only insert, and are short, so the mail worker never waits long
        # for them (with 2,000 alerts a transaction, its lanes stood still for a third of the
        # first seconds of a publication, waiting to record what they had sent).
        await overlapped(rendered(), insert)

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
        return Publication(brief, event, note, Tagged.of(brief, self.taxonomy))

    async def prepare(self, publication: Publication, chunk: Sequence[Recipient]) -> list[Prepared]:
        """One chunk's alerts, rendered (those not queued before); only reads."""
        brief, event = publication.brief, publication.event
        async with self.reads() as session:
            filters = await chosen_filters(session, [r.id for r in chunk if r.personal])
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
                    )
                )
                if n % RENDER_SLICE == 0:
                    await asyncio.sleep(0)  # the mail worker's lanes get their turn
            return await prepare_many(
                session,
                outgoing,
                composer=self.composer,
                now=event.occurred_at,
                drafts=publication.drafts,
            )

    def _alert(
        self,
        brief: Brief,
        tagged: Tagged,
        event: Event,
        recipient: Recipient,
        filters: dict[Facet, set[str]],
        change_note: str | None,
    ) -> Outgoing:
        context = {
            "brief": brief,
            "brief_url": f"{self.settings.base_url}/briefs/{brief.id}",
            "change_note": change_note,
            "back": recipient.back,
            "reasons": reasons(tagged, recipient, filters),
            "manage_url": self.links.manage(recipient),
        }
        publication = event.payload.get("publication")
        return Outgoing(
            kind="alert",
            recipient=recipient.email,
            key=alert_key(event, recipient),
            context=context,
            unsubscribe_url=self.links.unsubscribe(recipient),
            briefs=[Carried(brief.id, event.revision, publication or 1, brief.title)],
            personal=("manage_url",),
        )


def alert_key(event: Event, recipient: Recipient) -> str:
    """One alert per person per publication and revision of a brief: published again after
    a withdrawal, it is news again. Events from before publications were counted (0008)
    keep the keys their alerts were queued under."""
    publication = event.payload.get("publication")
    if publication is None:
        return f"alert:{event.brief_id}:{event.revision}:{recipient.id}"
    return f"alert:{event.brief_id}:{publication}.{event.revision}:{recipient.id}"


async def queue_prepared(
    sessions: Sessions, prepared: Sequence[Prepared], sent: Callable[[], None]
) -> None:
    """Insert rendered alerts in short transactions, telling ``sent`` after each."""
    for start in range(0, len(prepared), INSERT_CHUNK):
        async with sessions.begin() as session:
            await enqueue_prepared(session, prepared[start : start + INSERT_CHUNK])
        sent()


def facts_of(brief: Brief) -> BriefFacts:
    return BriefFacts(
        brief_id=brief.id,
        revision=brief.revision,
        audience=brief.audience,
        codes={facet: frozenset(brief.codes(facet)) for facet in FACETS},
    )


@dataclass(frozen=True)
class Tagged:
    """A brief's tags as matching sees them, worked out once per brief, not once per person:
    per facet, each code with its label and the filter codes it answers to."""

    codes: dict[Facet, tuple[tuple[str, str, frozenset[str]], ...]]

    @classmethod
    def of(cls, brief: Brief, taxonomy: Taxonomy) -> Tagged:
        return cls({
            facet: tuple((code, taxonomy.get(facet, code).label, widen(taxonomy, facet, [code]))
                         for code in brief.codes(facet))
            for facet in FACETS
        })  # fmt: skip


def reasons(
    tagged: Tagged, recipient: Recipient, filters: dict[Facet, set[str]]
) -> tuple[str, ...]:
    """Why this person got this brief, in words: the tags that matched, and their groups."""
    found = []
    if recipient.personal:
        for facet in FACETS:
            wanted = filters.get(facet, set())
            found += [label for _, label, answers in tagged.codes[facet] if wanted & answers]
        if not found:
            found.append("you asked for all new learning")
        else:
            found = [f"you follow {', '.join(found)}"]
    found += [f"you are a member of {name}" for name in recipient.groups]
    if recipient.back:
        found.append("we told you it had been withdrawn, and it is back")
    return tuple(found)


async def chosen_filters(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, dict[Facet, set[str]]]:
    """Each person's chosen codes, fetched in chunks rather than a query per person."""
    found: dict[int, dict[Facet, set[str]]] = {}
    for start in range(0, len(ids), CODES_CHUNK):
        rows = await session.execute(_CODES, {"ids": ids[start : start + CODES_CHUNK]})
        for subscriber_id, facet, code in rows:
            found.setdefault(subscriber_id, {}).setdefault(cast(Facet, facet), set()).add(code)
    return found


# The IN list is one expanding parameter of a statement built once (see mail.service).
_CODES = select(
    SubscriptionCode.subscriber_id, SubscriptionCode.facet, SubscriptionCode.code
).where(SubscriptionCode.subscriber_id.in_(bindparam("ids", expanding=True)))


def _chunks(found: Sequence[Recipient]) -> Iterator[Sequence[Recipient]]:
    start = 0
    for n in itertools.count():
        if start >= len(found):
            return
        size = ALERT_CHUNKS[min(n, len(ALERT_CHUNKS) - 1)]
        yield found[start : start + size]
        start += size
