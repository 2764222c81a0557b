"""The scheduler inside ``learnhub serve``: the digest tick, run on schedule and at start-up;
every hour, and at start-up, the purge of old mail bodies (service.mail.purge) and the impact
report's roll-up of finished days (practice.impact.rollup); every minute, when
LEARNHUB_BOUNCE_MAILDIR is set, the bounces and complaints delivered there
(subscribers.subscriptions.bounces); every day, and at start-up, retention
(practice.retention)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from apscheduler.triggers.interval import IntervalTrigger

from digests.schedule import latest_scheduled, scheduler
from digests.service import Digests, run_digest
from learnhub.keys import (
    clock_key,
    composer_key,
    links_key,
    mail_worker_key,
    readonly_key,
    sessions_key,
    settings_key,
    tagging_key,
)
from practice import retention
from practice.impact import rollup
from service.mail import purge
from service.mail.verp import return_path_from
from service.staff import copies
from subscribers.subscriptions import bounces

log = logging.getLogger(__name__)
FREQUENCIES = ("daily", "weekly")


def digests_of(app: web.Application) -> Digests:
    return Digests(
        app[sessions_key],
        app[composer_key],
        app[links_key],
        app[tagging_key].taxonomy,
        app[settings_key],
        reads=app[readonly_key],
    )


def schedule(run_workers: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    """Digests on schedule; at start-up, a run missed while the service was down. Old mail
    bodies dropped and finished days rolled up every hour, and at start-up."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        digests, clock = digests_of(app), app[clock_key]
        running: set[asyncio.Task[object]] = set()

        async def shielded(job: Coroutine[Any, Any, object]) -> None:
            # Shielded and awaited at shutdown: the scheduler cancels jobs when it stops,
            # and a run cancelled mid-transaction would strand its connection.
            task = asyncio.create_task(job)
            running.add(task)
            task.add_done_callback(running.discard)
            await asyncio.shield(task)

        async def tick(frequency: str) -> None:
            await shielded(run(frequency))

        async def purge_bodies() -> None:
            await shielded(purge.purge(app[sessions_key], clock))

        async def roll_up() -> None:
            await shielded(rollup.roll_up(app[sessions_key], clock))

        async def purge_copies() -> None:  # the editor's expired working copies and kept forms
            await shielded(copies.purge_expired(app[sessions_key], clock))

        async def keep_for_as_long_as_said() -> None:
            years = app[settings_key].evidence_years
            await shielded(retention.run(app[sessions_key], clock, evidence_years=years))

        async def read_bounces() -> None:
            settings = app[settings_key]
            assert settings.bounce_maildir is not None  # scheduled only when set
            await shielded(
                bounces.poll(
                    app[sessions_key],
                    settings.bounce_maildir,
                    return_path=return_path_from(settings),
                    clock=clock,
                )
            )

        async def run(frequency: str) -> None:
            now = clock()
            summary = await run_digest(
                digests, frequency, latest_scheduled(now, frequency, digests.settings), now=now
            )
            app[mail_worker_key].wake()
            if not summary.already_done:
                log.info(
                    "%s digest for %s: %d queued", frequency, summary.period_end, summary.queued
                )

        jobs = scheduler(digests.settings, tick)
        if run_workers:
            jobs.start()
            for frequency in FREQUENCIES:  # catch up, now, what the schedule missed
                jobs.add_job(tick, args=[frequency], id=f"catch-up-{frequency}")
            interval_jobs: list[tuple[Callable[[], Coroutine[Any, Any, None]], timedelta, str]] = [
                (purge_bodies, purge.EVERY, "purge-mail-bodies"),
                (roll_up, rollup.EVERY, "impact-roll-up"),
                (purge_copies, copies.PURGE_EVERY, "purge-editor-copies"),
            ]
            interval_jobs.append((keep_for_as_long_as_said, retention.EVERY, "retention"))
            if digests.settings.bounce_maildir is not None:
                interval_jobs.append((read_bounces, bounces.EVERY, "read-bounces"))
            for job, every, name in interval_jobs:
                jobs.add_job(
                    job,
                    IntervalTrigger(seconds=every.total_seconds()),
                    id=name,
                    next_run_time=datetime.now(UTC),  # and now
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=None,
                )
        yield
        if jobs.running:
            jobs.shutdown(wait=False)
        await asyncio.gather(*running, return_exceptions=True)

    return context
