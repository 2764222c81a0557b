"""Matching speed: ``recipients()`` for varied briefs among 100,000 subscribers.

Usage: python bench/matching.py [--database-url URL] [--people 100000] [--briefs 20]

Inserts the subscribers (varied filters and frequencies, a few groups with members) with
core INSERTs, then times ``recipients()`` for each brief: at one frequency (what an alert
does) and at all three (every match of the brief). Two floors are measured in the same run,
at one frequency: the database's share (a SQL count(*) under the same conditions, no rows
sent back), and the same mask test as a plain Python loop over the rows held in memory.
Aim: every match of a brief in under 200 ms. A PostgreSQL --database-url must name a
database that does not exist: it is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from _common import (
    AGENCIES,
    BOROUGHS,
    PRACTITIONER_DOMAINS,
    TAXONOMY,
    THEMES,
    Mix,
    add_subscribers,
    median,
    percentile,
    scratch_database,
    table,
    timed,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.briefs.audience import may_receive
from service.clock import utcnow
from service.migrate import upgrade
from service.taxonomy import FACETS
from subscribers.alerts.matching import BriefFacts, recipients, widen
from subscribers.subscriptions import masks
from subscribers.subscriptions.models import Subscriber, SubscriptionCode

FREQUENCIES = ("immediate", "daily", "weekly")


def briefs(count: int) -> list[BriefFacts]:
    """Briefs as publishers tag them: a few themes, agencies (often a child of health),
    one borough or none (region-wide), now and then for practitioners only."""
    rng = random.Random(11)  # noqa: S311
    found = []
    for _ in range(count):
        codes = {
            "themes": frozenset(rng.sample(THEMES, rng.randint(1, 3))),
            "agencies": frozenset(rng.sample(AGENCIES, rng.randint(0, 3))),
            "boroughs": frozenset(rng.sample(BOROUGHS, rng.choice([0, 1, 1, 2]))),
        }
        audience = "practitioners" if rng.random() < 0.2 else "public"
        found.append(BriefFacts(uuid.uuid4(), 1, audience, codes))  # type: ignore[arg-type]
    return found


@dataclass
class InMemory:
    """The same rows held in memory: (id, frequency, domain, masks) of the active, unpaused."""

    rows: list[tuple[int, str, str, int, int, int]]
    bits: masks.Bits

    @classmethod
    async def load(cls, session: AsyncSession) -> InMemory:
        rows = await session.execute(
            select(
                Subscriber.id,
                Subscriber.frequency,
                Subscriber.domain,
                Subscriber.themes_mask,
                Subscriber.agencies_mask,
                Subscriber.boroughs_mask,
            ).where(Subscriber.status == "active", Subscriber.paused_at.is_(None))
        )
        return cls([tuple(row) for row in rows], await masks.load(session))  # type: ignore[misc]

    def match(self, facts: BriefFacts, frequency: str) -> list[int]:
        t, a, b = (brief_mask(self.bits, facts, facet) for facet in FACETS)
        return [
            i
            for i, f, domain, tm, am, bm in self.rows
            if f == frequency
            and (not tm or tm & t)
            and (not am or am & a)
            and (b < 0 or not bm or bm & b)
            and may_receive(facts.audience, domain, PRACTITIONER_DOMAINS)
        ]


def brief_mask(bits: masks.Bits, facts: BriefFacts, facet: str) -> int:
    """The brief's mask in a facet; -1 for no borough (region-wide: every filter meets it)."""
    if facet == "boroughs" and not facts.codes[facet]:
        return -1
    return masks.mask(bits, facet, widen(TAXONOMY, facet, facts.codes[facet]))  # type: ignore[arg-type]


async def sql_floor(session: AsyncSession, facts: BriefFacts, bits: masks.Bits) -> int:
    """The database's share: counting the rows the same conditions select, sending none."""
    wanted = [
        masks.shares_a_bit(facet, brief)  # type: ignore[arg-type]
        for facet in FACETS
        if (brief := brief_mask(bits, facts, facet)) >= 0
    ]
    query = select(func.count()).where(
        Subscriber.frequency == "immediate",
        Subscriber.status == "active",
        Subscriber.paused_at.is_(None),
        *wanted,
    )
    return int(await session.scalar(query) or 0)


async def match(
    sessions: async_sessionmaker[AsyncSession], facts: BriefFacts, frequencies: tuple[str, ...]
) -> int:
    found = 0
    for frequency in frequencies:
        async with sessions() as session:
            found += len(
                await recipients(
                    session,
                    facts,
                    frequency=frequency,
                    taxonomy=TAXONOMY,
                    practitioner_domains=PRACTITIONER_DOMAINS,
                )
            )
    return found


async def main(url: str | None, people: int, count: int) -> None:
    async with scratch_database(url) as database_url:
        await upgrade(database_url)
        engine = db.create_engine(database_url)
        try:
            await bench(engine, database_url, people, count)
        finally:
            await engine.dispose()


async def bench(engine: object, url: str, people: int, count: int) -> None:
    sessions = db.sessionmaker(engine, readonly=True)  # type: ignore[arg-type]
    with timed() as seeded:
        async with db.sessionmaker(engine).begin() as session:  # type: ignore[arg-type]
            await add_subscribers(session, Mix(people), now=utcnow())
    async with sessions() as session:
        memory = await InMemory.load(session)
        code_rows = await session.scalar(select(func.count()).select_from(SubscriptionCode))
    sample = briefs(count)
    await match(sessions, sample[0], FREQUENCIES)  # warm the caches and the statement cache
    times: dict[str, list[float]] = defaultdict(list)
    found: dict[str, list[int]] = defaultdict(list)
    for facts in sample:
        for label, work in [
            ("recipients(), immediate", lambda f=facts: match(sessions, f, ("immediate",))),
            ("recipients(), all 3 frequencies", lambda f=facts: match(sessions, f, FREQUENCIES)),
            ("floor: SQL count(*), immediate", lambda f=facts: _floor(sessions, f, memory.bits)),
            ("floor: Python scan in memory, immediate", lambda f=facts: _memory(memory, f)),
        ]:
            start = time.perf_counter()
            found[label].append(await work())
            times[label].append(time.perf_counter() - start)
    print(f"database  {url.split(':')[0]}; {people} subscribers, {code_rows} filter rows")
    print(f"seeding   {seeded[0]:.1f} s (core INSERTs); {count} briefs; aim: all 3 < 200 ms")
    table(
        ["", "median ms", "p95 ms", "mean found"],
        [
            [
                label,
                f"{median(t) * 1000:.1f}",
                f"{percentile(t, 0.95) * 1000:.1f}",
                f"{sum(found[label]) / len(found[label]):.0f}",
            ]
            for label, t in times.items()
        ],
    )


async def _floor(
    sessions: async_sessionmaker[AsyncSession], facts: BriefFacts, bits: masks.Bits
) -> int:
    async with sessions() as session:
        return await sql_floor(session, facts, bits)


async def _memory(memory: InMemory, facts: BriefFacts) -> int:
    return len(memory.match(facts, "immediate"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--briefs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.people, args.briefs))
