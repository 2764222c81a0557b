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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests import content
from digests.models import DigestRecipient, DigestRun, RunStatus
from digests.window import Plan, plan_run
from service.briefs.models import Brief, Status
from service.db import dialect_insert, table_of
from service.mail.bulk import queue_in_bulk
from service.mail.compose import Composer
from service.mail.service import Drafts, Outgoing
from service.settings import Settings
from service.taxonomy import Facet, Taxonomy
from subscribers.alerts.reasons import chosen_filters
from subscribers.subscriptions.links import Links

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
    """Render and write the plan's digests, batch by batch, adding to ``queued``.

    Each batch is planned and rendered on the read side while the one before is written
    (service.mail.bulk); each person's digest row is written with their email.
    """
    people = sorted(plan.people)
    batches = [people[start : start + BATCH] for start in range(0, len(people), BATCH)]
    person_of: dict[str, int] = {}  # by email key
    written_batches = 0

    async def composed(session: AsyncSession, ids: list[int]) -> list[Outgoing]:
        done = set(
            await session.scalars(
                select(DigestRecipient.subscriber_id).where(
                    DigestRecipient.run_id == run.id, DigestRecipient.subscriber_id.in_(ids)
                )
            )
        )
        mails = await compose(digests, session, run, plan, [i for i in ids if i not in done])
        person_of.update((mail.key, person_id) for person_id, _, mail in mails)
        return [mail for _, _, mail in mails]

    async def admit(session: AsyncSession, _ids: list[int], mails: Sequence[Outgoing]) -> set[str]:
        """Each person's digest row, with their email; only for the people whose row is new
        (another runner may have written some since the batch was planned)."""
        await _still_as_planned(session, _versions(plan, mails))
        rows = [
            {
                "run_id": run.id,
                "subscriber_id": person_of[mail.key],
                "briefs": len(mail.briefs),
                "created_at": now,
            }
            for mail in mails
        ]
        # Executed with the rows, not .values(rows): a statement compiled once, not per batch.
        table = table_of(DigestRecipient)
        insert = (
            dialect_insert(session, table).on_conflict_do_nothing().returning(table.c.subscriber_id)
        )
        mine = set(await session.scalars(insert, rows))
        return {mail.key for mail in mails if person_of[mail.key] in mine}

    async def written(ids: list[int], new: int) -> None:
        nonlocal written_batches
        written_batches += 1
        queued[0] += new
        if written_batches & (written_batches - 1) == 0:  # after batches 1, 2, 4, 8…
            await _refresh_statistics(digests)
        if progress:
            progress(len(ids), len(people))

    await queue_in_bulk(
        batches,
        composed,
        reads=digests.reads or digests.sessions,
        writes=digests.sessions,
        composer=digests.composer,
        now=now,
        drafts=drafts,
        admit=admit,
        written=written,
    )


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


class StalePlan(Exception):  # not an error: a run that must plan again
    """A brief in the batch was withdrawn, published again or narrowed since it was planned."""


def _versions(plan: Plan, mails: Sequence[Outgoing]) -> dict[uuid.UUID, tuple[int, str]]:
    """Each brief the emails carry, as the plan saw it: (publication, audience)."""
    return {
        carried.brief_id: (carried.publication, plan.cards[carried.brief_id].audience)
        for mail in mails
        for carried in mail.briefs
    }


async def _still_as_planned(
    session: AsyncSession, versions: dict[uuid.UUID, tuple[int, str]]
) -> None:
    """Raise StalePlan unless every brief the batch carries is as the plan saw it.

    On PostgreSQL the rows are read FOR SHARE: a withdrawal (which locks its brief FOR
    UPDATE) then commits either before this check, which sees it, or after this batch,
    whose digests its handler then finds queued and takes back. SQLite has one writer.
    """
    rows = await session.execute(
        select(Brief.id, Brief.status, Brief.publication, Brief.audience)
        .where(Brief.id.in_(list(versions)))
        .with_for_update(read=True)
    )
    found = {
        brief_id: (status, (publication, audience))
        for brief_id, status, publication, audience in rows
    }
    for brief_id, version in versions.items():
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
    filters = await chosen_filters(session, [i for i in todo if plan.people[i].subscribed])
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
            # "I've read this" and "Record a team discussion" of each item: one token each
            # for the whole digest, the item's brief id after it (a token a link, and a
            # placeholder a link to fill in, halved the run's rate).
            "acknowledge_url": digests.links.acknowledge_sent(person),
            "discuss_url": digests.links.discuss_sent(person),
        },
        unsubscribe_url=digests.links.unsubscribe(person),
        briefs=[c.carried for c in cards],
        personal=("manage_url", "acknowledge_url", "discuss_url"),
    )
