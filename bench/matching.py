"""Matching speed: ``recipients()`` for varied briefs among 100,000 subscribers.

Usage: python bench/matching.py [--database-url URL] [--people 100000] [--briefs 20]

Inserts the subscribers (varied filters and frequencies, a few groups with members) with
core INSERTs, then times ``recipients()`` for each brief: at one frequency (what an alert
does) and at all three (every match of the brief). Two floors are measured in the same run:
one SQL query counting the subscription_codes rows the brief's codes select (the index
work any answer needs), and a pure-Python set intersection over the same data in memory.
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
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.clock import utcnow
from service.migrate import upgrade
from service.taxonomy import FACETS
from subscribers.audience import may_receive
from subscribers.matching import BriefFacts, recipients, widen
from subscribers.models import ANY, Subscriber, SubscriptionCode

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
    """The same data held in memory: (facet, code) -> ids, and who may be matched."""

    index: dict[tuple[str, str], set[int]]
    eligible: dict[int, tuple[str, str]]  # id -> (frequency, domain), active and unpaused

    @classmethod
    async def load(cls, session: AsyncSession) -> InMemory:
        index: dict[tuple[str, str], set[int]] = defaultdict(set)
        for subscriber_id, facet, code in await session.execute(
            select(SubscriptionCode.subscriber_id, SubscriptionCode.facet, SubscriptionCode.code)
        ):
            index[(facet, code)].add(subscriber_id)
        eligible = {
            i: (frequency, domain)
            for i, frequency, domain in await session.execute(
                select(Subscriber.id, Subscriber.frequency, Subscriber.domain).where(
                    Subscriber.status == "active", Subscriber.paused_at.is_(None)
                )
            )
        }
        return cls(index, eligible)

    def match(self, facts: BriefFacts) -> list[int]:
        found: set[int] | None = None
        for facet in FACETS:
            if facet == "boroughs" and not facts.codes[facet]:
                continue
            ids: set[int] = set()
            for code in widen(TAXONOMY, facet, facts.codes[facet]) | {ANY}:
                ids |= self.index.get((facet, code), set())
            found = ids if found is None else found & ids
        return [
            i
            for i in found or ()
            if (person := self.eligible.get(i))
            and may_receive(facts.audience, person[1], PRACTITIONER_DOMAINS)
        ]


async def sql_floor(session: AsyncSession, facts: BriefFacts) -> int:
    wanted = [
        and_(
            SubscriptionCode.facet == facet,
            SubscriptionCode.code.in_(widen(TAXONOMY, facet, facts.codes[facet]) | {ANY}),
        )
        for facet in FACETS
    ]
    return int(await session.scalar(select(func.count()).where(or_(*wanted))) or 0)


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
        code_rows = sum(map(len, memory.index.values()))
    sample = briefs(count)
    await match(sessions, sample[0], FREQUENCIES)  # warm the caches and the statement cache
    times: dict[str, list[float]] = defaultdict(list)
    found: dict[str, list[int]] = defaultdict(list)
    for facts in sample:
        for label, work in [
            ("recipients(), immediate", lambda f=facts: match(sessions, f, ("immediate",))),
            ("recipients(), all 3 frequencies", lambda f=facts: match(sessions, f, FREQUENCIES)),
            ("floor: SQL count of code rows", lambda f=facts: _floor(sessions, f)),
            ("floor: in-memory set intersection", lambda f=facts: _memory(memory, f)),
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


async def _floor(sessions: async_sessionmaker[AsyncSession], facts: BriefFacts) -> int:
    async with sessions() as session:
        return await sql_floor(session, facts)


async def _memory(memory: InMemory, facts: BriefFacts) -> int:
    return len(memory.match(facts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--briefs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.people, args.briefs))
