"""Building and queueing a digest run: each person's digest exactly once, however often it runs.

A run is a row unique on (frequency, period end); each person's digest is a row unique on
(run, person) written in the same transaction as the email, whose idempotency key names the
run and the person. A rerun, a second instance, or a restart after a crash half-way through
therefore writes nothing twice, and picks up where the last one stopped.

A run renders each distinct digest once: people who get the same briefs for the same
reasons share a draft (Drafts), and only their links, with their tokens, are their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests import content
from digests.models import DigestRecipient, DigestRun, RunStatus
from digests.window import Plan, plan_run
from service.briefs.models import Brief, Status
from service.db import dialect_insert, table_of
from service.mail.compose import Composer
from service.mail.service import (
    Carried,
    Drafts,
    Outgoing,
    Prepared,
    enqueue_prepared,
    overlapped,
    prepare_many,
)
from service.settings import Settings
from service.taxonomy import Facet, Taxonomy
from subscribers.alerts import chosen_filters
from subscribers.links import Links

BATCH = 250
REPLANS = 3  # times a run plans again when briefs change under it, before it gives up
Progress = Callable[[int, int], None]  # (people just done, people in the run)


@dataclass(frozen=True)
class Digests:
    """What a run needs, built once."""

    sessions: async_sessionmaker[AsyncSession]
    composer: Composer
    links: Links
    taxonomy: Taxonomy
    settings: Settings
    # Planning reads for a while; on SQLite a write session would hold the write lock
    # throughout, and every publication would wait for it.
    reads: async_sessionmaker[AsyncSession] | None = None


@dataclass(frozen=True)
class Summary:
    frequency: str
    period_end: datetime
    recipients: int
    queued: int
    already_done: bool


async def open_run(
    session: AsyncSession, frequency: str, period_end: datetime, now: datetime
) -> DigestRun:
    """The run for this period, created if it is the first to ask (insert-or-ignore)."""
    previous = await session.scalar(
        select(func.max(DigestRun.period_end)).where(
            DigestRun.frequency == frequency,
            DigestRun.status == RunStatus.done.value,
            DigestRun.period_end < period_end,
        )
    )
    insert = dialect_insert(session, table_of(DigestRun)).values(
        frequency=frequency,
        period_end=period_end,
        period_start=previous,
        status=RunStatus.running.value,
        created_at=now,
        sent=0,
    )
    await session.execute(insert.on_conflict_do_nothing())
    run = await session.scalar(
        select(DigestRun).where(
            DigestRun.frequency == frequency, DigestRun.period_end == period_end
        )
    )
    assert run is not None
    return run


async def run_digest(
    digests: Digests,
    frequency: str,
    period_end: datetime,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> Summary:
    async with digests.sessions.begin() as session:
        run = await open_run(session, frequency, period_end, now)
    if run.status == RunStatus.done:
        return Summary(frequency, period_end, 0, 0, already_done=True)
    drafts = Drafts()
    queued = [0]  # what the attempts queued, each adding as it writes
    for attempt in range(REPLANS + 1):
        async with (digests.reads or digests.sessions)() as session:
            plan = await plan_run(session, run, digests.taxonomy, digests.settings)
        try:
            await _queue(digests, run, plan, drafts, now, progress, queued)
            break
        except StalePlan:
            # A brief was withdrawn (or narrowed) while the run was under way: what is
            # written stands (the withdrawal takes it back), the rest is planned again.
            if attempt == REPLANS:
                raise
            drafts = Drafts()
    async with digests.sessions.begin() as session:
        await session.execute(
            update(DigestRun)
            .where(DigestRun.id == run.id, DigestRun.status == RunStatus.running.value)
            .values(
                status=RunStatus.done.value,
                finished_at=now,
                sent=select(func.count()).where(DigestRecipient.run_id == run.id).scalar_subquery(),
            )
        )
    return Summary(frequency, period_end, len(plan.people), queued[0], already_done=False)


async def _queue(
    digests: Digests,
    run: DigestRun,
    plan: Plan,
    drafts: Drafts,
    now: datetime,
    progress: Progress | None,
    queued: list[int],
) -> None:
    """Render and write the plan's digests, batch by batch, adding to ``queued``."""
    people = sorted(plan.people)

    async def planned() -> AsyncGenerator[tuple[int, Batch], None]:
        for number, start in enumerate(range(0, len(people), BATCH), start=1):
            ids = people[start : start + BATCH]
            yield number, await _prepare(digests, run, plan, drafts, ids, now)

    async def write(numbered: tuple[int, Batch]) -> None:
        number, batch = numbered
        queued[0] += await _write(digests, batch)
        if number & (number - 1) == 0:  # after batches 1, 2, 4, 8…
            await _refresh_statistics(digests)
        if progress:
            progress(batch.people, len(people))

    # Each batch is planned and rendered on the read side while the one before is written.
    await overlapped(planned(), write)


async def _refresh_statistics(digests: Digests) -> None:
    """On PostgreSQL, let the planner see the tables this run is filling.

    Autovacuum analyses a table a minute or more after it grows; until then the planner
    believes the message and delivery tables as small as they were, and the per-batch lookups
    (already sent? already done?) turn into scans of everything the run wrote so far. Fresh
    statistics at doubling intervals keep them index lookups, for a handful of ANALYZEs.
    """
    async with digests.sessions() as session:  # no transaction unless there is work
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE mail_messages, mail_deliveries, digest_recipients"))
            await session.commit()


@dataclass(frozen=True)
class Batch:
    """Digests rendered for some people, not yet written."""

    people: int
    rows: list[dict[str, Any]]  # digest_recipients rows
    emails: dict[int, Prepared]  # by person
    # Each carried brief as the plan saw it: (publication, audience).
    versions: dict[uuid.UUID, tuple[int, str]]


async def _prepare(
    digests: Digests,
    run: DigestRun,
    plan: Plan,
    drafts: Drafts,
    ids: Sequence[int],
    now: datetime,
) -> Batch:
    async with (digests.reads or digests.sessions)() as session:
        done = set(
            await session.scalars(
                select(DigestRecipient.subscriber_id).where(
                    DigestRecipient.run_id == run.id, DigestRecipient.subscriber_id.in_(ids)
                )
            )
        )
        composed = await compose(digests, session, run, plan, [i for i in ids if i not in done])
        outgoing = [o for _, _, o in composed]
        rows = [
            {"run_id": run.id, "subscriber_id": person_id, "briefs": count, "created_at": now}
            for person_id, count, _ in composed
        ]
        prepared = await prepare_many(
            session, outgoing, composer=digests.composer, now=now, drafts=drafts
        )
    by_key = {p.outgoing.key: p for p in prepared}
    emails: dict[int, Prepared] = {
        person_id: by_key[o.key] for person_id, _, o in composed if o.key in by_key
    }
    versions = {
        carried.brief_id: (carried.publication, plan.cards[carried.brief_id].audience)
        for mail in outgoing
        for carried in mail.briefs
    }
    return Batch(len(ids), rows, emails, versions)


async def _write(digests: Digests, batch: Batch) -> int:
    """Each person's digest row and email, together; only for the people whose row is new
    (another runner may have written some since the batch was planned)."""
    if not batch.rows:
        return 0
    async with digests.sessions.begin() as session:
        await _still_as_planned(session, batch)
        # Executed with the rows, not .values(rows): a statement compiled once, not per batch.
        table = table_of(DigestRecipient)
        insert = (
            dialect_insert(session, table).on_conflict_do_nothing().returning(table.c.subscriber_id)
        )
        mine = set(await session.scalars(insert, batch.rows))
        emails = [email for person, email in batch.emails.items() if person in mine]
        return await enqueue_prepared(session, emails)


class StalePlan(Exception):  # not an error: a run that must plan again
    """A brief in the batch was withdrawn, published again or narrowed since it was planned."""


async def _still_as_planned(session: AsyncSession, batch: Batch) -> None:
    """Raise StalePlan unless every brief the batch carries is as the plan saw it.

    On PostgreSQL the rows are read FOR SHARE: a withdrawal (which locks its brief FOR
    UPDATE) then commits either before this check, which sees it, or after this batch,
    whose digests its handler then finds queued and takes back. SQLite has one writer.
    """
    rows = await session.execute(
        select(Brief.id, Brief.status, Brief.publication, Brief.audience)
        .where(Brief.id.in_(list(batch.versions)))
        .with_for_update(read=True)
    )
    found = {
        brief_id: (status, (publication, audience))
        for brief_id, status, publication, audience in rows
    }
    for brief_id, version in batch.versions.items():
        status, current = found.get(brief_id, (None, None))
        if status != Status.published or current != version:
            raise StalePlan(f"brief {brief_id} changed while the digest run was planned")


async def compose(
    digests: Digests,
    session: AsyncSession,
    run: DigestRun,
    plan: Plan,
    todo: Sequence[int],
    suffix: str = "",
) -> list[tuple[int, int, Outgoing]]:
    """Each person's digest, if they have briefs in it: (person, how many briefs, email)."""
    briefs = await plan.briefs_for(session, todo)
    filters = await chosen_filters(session, [i for i in todo if plan.people[i].personal])
    composed = []
    for person_id in todo:
        mine = briefs.get(person_id, [])
        if mine:
            mail = email(digests, run, plan, person_id, mine, filters.get(person_id, {}), suffix)
            composed.append((person_id, len(mine), mail))
    return composed


def email(
    digests: Digests,
    run: DigestRun,
    plan: Plan,
    person_id: int,
    cards: list[content.Card],
    filters: dict[Facet, set[str]],
    suffix: str = "",
) -> Outgoing:
    person = plan.people[person_id]
    zone = digests.settings.zone
    start = plan.start_of(person_id)
    frequency = run.frequency
    return Outgoing(
        kind="digest",
        recipient=person.email,
        key=plan.key_of(person_id, suffix),
        context={
            "subject": content.subject(frequency, len(cards), start, run.period_end, zone),
            "frequency": frequency,
            "sections": plan.sections.of(cards, person, filters, start),
            "manage_url": digests.links.manage(person),
        },
        unsubscribe_url=digests.links.unsubscribe(person),
        briefs=[Carried(c.brief_id, c.revision, c.publication, c.title) for c in cards],
        personal=("manage_url",),
    )
