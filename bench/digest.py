"""Digest speed: planning a weekly run for 100,000 subscribers, then sending it over SMTP.

Usage: python bench/digest.py [--database-url URL] [--people 100000] [--sample 10000]

Inserts 100,000 confirmed subscribers (varied filters and frequencies, a few groups) and 50
briefs published in the week (rows written directly), in a child process so that its memory
does not count. Then, in this process:
(a) ``run_digest`` for the week, no SMTP: digests matched, rendered and queued per second;
(c) the peak RSS of this process after it (ru_maxrss);
(b) a sample of the queued digests sent by the real MailWorker + SmtpSender to an aiosmtpd
    sink in another process, against a bare aiosmtplib loop sending the same bytes over the
    same number of connections (the rest of the queue is held back for the sample).
Aims: (a) >= 2,000 digests/s, (b) ratio >= 0.7, (c) < 300 MB. A PostgreSQL --database-url
must name a database that does not exist: it is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import random
import resource
import time
import uuid
from datetime import date, datetime, timedelta

from _common import (
    AGENCIES,
    BOROUGHS,
    PRACTITIONER_DOMAINS,
    TAXONOMY,
    THEMES,
    Mix,
    Sink,
    add_subscribers,
    bare_smtp,
    peak_rss_mb,
    scratch_database,
    sink,
    table,
)
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests.models import DigestRun
from digests.service import Digests, run_digest
from service import db
from service.briefs.models import Brief, BriefTag
from service.briefs.render import render_summary
from service.clock import utcnow
from service.mail.compose import Composer
from service.mail.models import MailMessage
from service.mail.senders import SmtpSender
from service.mail.worker import MailWorker
from service.migrate import upgrade
from service.settings import Settings
from service.staff.models import StaffMember
from subscribers.subscriptions.links import Links
from subscribers.subscriptions.tokens import Tokens

CONCURRENCY = 4
SUMMARY = (
    "Child {n}, aged {age}, was known to several agencies over two years. Practitioners held "
    "pieces of information about the household; nobody held the whole picture.\n\n"
    "Professional curiosity, and escalation when a plan is not working, would have brought the "
    "concerns about **neglect** and the hidden adult male together sooner."
)


def cpu_seconds() -> float:
    """User and system CPU time of this process so far, every thread's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key="bench-secret-key-" + "x" * 32,
        base_url="https://learnhub.example",
        practitioner_domains=PRACTITIONER_DOMAINS,
    )


def brief_rows(count: int, start: datetime, staff_id: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(5)  # noqa: S311
    briefs, tags = [], []
    for n in range(count):
        brief_id, when = uuid.uuid4(), start + timedelta(hours=3 * n + 1)
        summary = SUMMARY.format(n=n, age=rng.randint(1, 17))
        briefs.append(
            {
                "id": brief_id,
                "title": f"Learning brief {n}: Child {n}, neglect and escalation",
                "summary": summary,
                "summary_html": render_summary(summary),
                "learning_points": ["Ask who else lives in the home.", "Escalate when stuck."],
                "source_review": f"Child {n}",
                "source_board": "Liverpool Safeguarding Children Partnership",
                "source_published_on": date(2026, 10, 1),
                "audience": "practitioners" if n % 6 == 0 else "public",
                "status": "published",
                "revision": 1,
                "created_at": when,
                "updated_at": when,
                "published_at": when,
                "notified_at": when,
                "created_by": staff_id,
                "publisher_facets": [],
            }
        )
        chosen = {
            "themes": rng.sample(THEMES, rng.randint(1, 3)),
            "agencies": rng.sample(AGENCIES, rng.randint(0, 3)),
            "boroughs": rng.sample(BOROUGHS, rng.choice([0, 1, 1, 2])),
        }
        tags += [
            {"brief_id": brief_id, "facet": f, "code": c, "source": "publisher", "evidence": []}
            for f, codes in chosen.items()
            for c in codes
        ]
    return briefs, tags


async def seed(url: str, people: int, briefs: int, period_end: datetime) -> None:
    await upgrade(url)
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine).begin() as session:
            await add_subscribers(session, Mix(people, inactive=0), now=period_end)
            staff_id = await session.scalar(
                insert(StaffMember)
                .values(
                    email="bench@example.org",
                    role="publisher",
                    token_hash="no token opens this",  # noqa: S106
                    created_at=period_end,
                )
                .returning(StaffMember.id)
            )
            week = period_end - timedelta(days=7)
            brief, tags = brief_rows(briefs, week, staff_id)
            await session.execute(insert(Brief), brief)
            await session.execute(insert(BriefTag), tags)
            # Last week's run, finished: this run's window is the week.
            await session.execute(
                insert(DigestRun).values(
                    frequency="weekly", period_end=week, status="done", created_at=week, sent=0
                )
            )
    finally:
        await engine.dispose()


def _seed_process(url: str, people: int, briefs: int, period_end: datetime) -> None:
    asyncio.run(seed(url, people, briefs, period_end))


async def send_sample(
    sessions: async_sessionmaker[AsyncSession], target: Sink, sample: int
) -> tuple[int, float, float]:
    """Hold back all but ``sample`` queued digests; time the bare loop, then the worker."""
    async with sessions.begin() as session:
        ids = list(await session.scalars(select(MailMessage.id).order_by(MailMessage.id)))
        cutoff = ids[min(sample, len(ids)) - 1]
        await session.execute(
            update(MailMessage)
            .where(MailMessage.id > cutoff)
            .values(next_attempt_at=utcnow() + timedelta(days=1))
        )
        bodies = list(
            await session.scalars(select(MailMessage.body).where(MailMessage.id <= cutoff))
        )
    bare = await bare_smtp(target, bodies, CONCURRENCY)
    target.reset()
    sender = SmtpSender.from_url(f"smtp://127.0.0.1:{target.port}", concurrency=CONCURRENCY)
    worker = MailWorker(
        sessions, sender, utcnow, envelope_from="learning@localhost", concurrency=CONCURRENCY
    )
    start = time.monotonic()
    worker.start()
    real = await target.until(len(bodies)) - start
    await worker.stop()
    await sender.close()
    return len(bodies), bare, real


async def main(url: str | None, people: int, briefs: int, sample: int) -> None:
    period_end = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    async with scratch_database(url) as database_url:
        child = multiprocessing.get_context("spawn").Process(
            target=_seed_process, args=(database_url, people, briefs, period_end)
        )
        started = time.perf_counter()
        child.start()
        await asyncio.to_thread(child.join)
        if child.exitcode != 0:
            raise SystemExit("seeding failed")
        seeded = time.perf_counter() - started
        engine = db.create_engine(database_url)
        try:
            await _bench(engine, database_url, people, briefs, sample, period_end, seeded)
        finally:
            await engine.dispose()


async def _bench(
    engine: object,
    url: str,
    people: int,
    briefs: int,
    sample: int,
    period_end: datetime,
    seeded: float,
) -> None:
    config = settings(url)
    sessions = db.sessionmaker(engine)  # type: ignore[arg-type]
    digests = Digests(
        sessions,
        Composer.from_settings(config),
        Links(config.base_url, Tokens(config.signing_key())),
        TAXONOMY,
        config,
    )
    gc.freeze()  # as learnhub serve does once it has started (service/cli.py)
    rss_before = peak_rss_mb()
    cpu_before = cpu_seconds()
    start = time.perf_counter()
    summary = await run_digest(digests, "weekly", period_end, now=utcnow())
    planning = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_before
    rss_run = peak_rss_mb()
    async with sink() as target:
        sent, bare, real = await send_sample(sessions, target, sample)
    print(
        f"database  {url.split(':')[0]}; {people} subscribers, {briefs} briefs in the week; "
        f"seeded in {seeded:.0f} s; load average {os.getloadavg()[0]:.1f}"
    )
    table(
        ["", "figure", "aim"],
        [
            ["(a) weekly run: digests queued", summary.queued, ""],
            [
                "(a) planning: match + render + queue",
                f"{summary.queued / planning:.0f}/s",
                ">= 2000/s",
            ],
            ["(a) run time", f"{planning:.1f} s", ""],
            # On a shared machine the wall clock moves with the others' load; CPU less so.
            [
                "(a) CPU time, all threads; digests a CPU-second",
                f"{cpu:.1f} s; {summary.queued / cpu:.0f}/s",
                "",
            ],
            [f"(b) bare aiosmtplib, {sent} digests", f"{sent / bare:.0f}/s", ""],
            [f"(b) MailWorker + SmtpSender, {sent}", f"{sent / real:.0f}/s", ""],
            ["(b) ratio", f"{bare / real:.2f}", ">= 0.7"],
            ["(c) peak RSS after the run", f"{rss_run:.0f} MB", "< 300 MB"],
            ["    (before the run)", f"{rss_before:.0f} MB", ""],
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--briefs", type=int, default=50)
    parser.add_argument("--sample", type=int, default=10_000, help="digests sent over SMTP")
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.people, args.briefs, args.sample))
