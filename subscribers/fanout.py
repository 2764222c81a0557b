"""Alerts composed and queued in processes of their own, beside the service's event loop.

A publication to thousands of people costs a second or more of CPU to compose and insert
(about 100 µs an alert), and Python runs one thread at a time: on the service's loop that
second is taken from the mail worker, which sends what the first chunks queued, and from
the web pages. A process of its own (``LEARNHUB_FANOUT_PROCESSES``, 1 by default; 0 keeps
the work on the loop) does it on another core. The service still decides who gets the brief
(matching is one query), then hands the chunks of recipients over, a few at a time, and wakes
the mail worker as each chunk is committed.

The process writes to the database itself, through its own connection: the alerts' keys make
a chunk done twice harmless, so a process that dies half-way (the pool is then replaced) only
makes the dispatcher retry the event. Tokens in the links carry the service clock's time,
passed with each job, so that a process never stamps a link by a clock of its own.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.util import Finalize

from pydantic import SecretStr
from sqlalchemy import text

from service import db
from service.briefs.models import Brief
from service.clock import Clock
from service.events.models import Event
from service.mail.compose import Composer
from service.settings import Settings
from service.taxonomy import default_taxonomy
from subscribers.alerts import Alerts, Publication, queue_prepared
from subscribers.links import Links
from subscribers.matching import Recipient
from subscribers.tokens import Tokens

log = logging.getLogger(__name__)


class FanoutFailed(RuntimeError):
    """The process composing alerts stopped; the event is retried on a new one."""


@dataclass(frozen=True)
class Job:
    """What a process needs to know, beyond the recipients, to queue a chunk of alerts."""

    event_id: int
    links_at: datetime  # the service clock's time, stamped on the links' tokens


class Fanout:
    """A pool of ``processes`` processes that compose and queue chunks of alerts."""

    def __init__(self, settings: Settings, clock: Clock, processes: int = 1) -> None:
        if processes < 1:
            raise ValueError("a fan-out needs at least one process")
        # The key as this service resolved it (it may come from var/secret_key).
        self._settings = settings.model_copy(
            update={"secret_key": SecretStr(settings.signing_key())}
        )
        self._clock = clock
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        """Start the processes and connect them now, rather than at the first publication
        (about a second). A process that cannot start is reported, and retried at the first
        job: the rest of the service runs meanwhile."""
        pool = self._running()
        loop = asyncio.get_running_loop()
        started = [loop.run_in_executor(pool, _ready) for _ in range(self.processes)]
        try:
            await asyncio.gather(*started)
        except Exception:
            log.exception("the processes that queue alerts did not start; trying again later")
            self._replace(pool)

    async def queue(
        self,
        event_id: int,
        chunks: Iterable[Sequence[Recipient]],
        sent: Callable[[], None],
    ) -> None:
        """Queue the alerts of ``event_id`` to ``chunks`` of recipients; ``sent`` after each.

        One chunk per process is queued behind the ones running, so that none waits for
        the next. Raises FanoutFailed if a process died (the pool is then replaced).
        """
        job = Job(event_id, self._clock())
        pool = self._running()
        loop = asyncio.get_running_loop()
        running: deque[asyncio.Future[int]] = deque()
        try:
            for chunk in chunks:
                running.append(loop.run_in_executor(pool, _queue_chunk, job, list(chunk)))
                if len(running) > self.processes:
                    await running.popleft()
                    sent()
            while running:
                await running.popleft()
                sent()
        except BrokenProcessPool as exc:
            self._replace(pool)
            raise FanoutFailed("the process queueing alerts stopped; retrying") from exc
        finally:
            for future in running:  # the ones not started never will be
                future.cancel()

    async def close(self) -> None:
        """Stop the processes after the chunks they are on; the rest are not started."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def _running(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                # Not fork: the service's threads, loop and connections must not be copied.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self._settings,),
            )
        return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:
            self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)


# In each process of the pool.

_process: _FanoutProcess | None = None


class _FanoutProcess:
    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.database = db.Database.open(settings.database_url)
        self.links_at = datetime.now(UTC)
        tokens = Tokens(settings.signing_key(), lambda: self.links_at)
        self.alerts = Alerts(
            Composer.from_settings(settings),
            Links(settings.base_url, tokens),
            default_taxonomy(),
            settings,
            reads=self.database.readonly,
        )
        self.publication: Publication | None = None
        # Before the interpreter exits: it would wait for the database's threads forever.
        Finalize(self, self.close, exitpriority=10)

    def queue(self, job: Job, chunk: list[Recipient]) -> int:
        return self.loop.run_until_complete(self._queue(job, chunk))

    async def _queue(self, job: Job, chunk: list[Recipient]) -> int:
        self.links_at = job.links_at
        publication = self.publication
        if publication is None or publication.event.id != job.event_id:
            publication = self.publication = await self._publication(job.event_id)
        prepared = await self.alerts.prepare(publication, chunk)
        await queue_prepared(self.database.sessions, prepared, lambda: None)
        return len(prepared)

    async def _publication(self, event_id: int) -> Publication:
        async with self.database.readonly() as session:
            event = await session.get(Event, event_id)
            brief = await session.get(Brief, event.brief_id) if event else None
        if event is None or brief is None:
            raise LookupError(f"event {event_id} or its brief is gone")
        return self.alerts.publication(brief, event)

    def ping(self) -> None:
        async def ping() -> None:
            async with self.database.readonly() as session:
                await session.execute(text("SELECT 1"))

        self.loop.run_until_complete(ping())

    def close(self) -> None:
        self.loop.run_until_complete(self.database.dispose())
        self.loop.close()


def _start(settings: Settings) -> None:
    global _process  # one per process, made by the pool's initializer
    _process = _FanoutProcess(settings)


def _ready() -> None:
    """Submitted to start the processes ahead of the first job: each connects."""
    if _process is not None:
        _process.ping()


def _queue_chunk(job: Job, chunk: list[Recipient]) -> int:
    if _process is None:
        raise RuntimeError("a fan-out process runs jobs only after the pool started it")
    return _process.queue(job, chunk)
