"""Alerts composed and queued in processes of their own, beside the service's event loop.

A publication to thousands of people costs a second or more of CPU to compose and insert
(about 100 µs an alert), and Python runs one thread at a time: on the service's loop that
second is taken from the mail worker, which sends what the first chunks queued, and from
the web pages. ``LEARNHUB_FANOUT_PROCESSES`` processes (1 by default; 0 keeps the work on
the loop) do it on another core. The service still decides who gets the brief (matching is
one query), then hands the chunks of recipients over, one per process at a time, and wakes
the mail worker as each chunk is committed.

A process reads the brief at its first chunk of a job, and refuses to go on if it is no
longer the revision the recipients were chosen for (the event is retried, and matched
again); the job's other chunks are composed from that copy, as on the loop. It writes
through its own connection; the alerts' keys make a chunk done twice harmless, so a process
that dies half-way only makes the dispatcher retry the event, on a new process. When no
process can be started, the alerts are composed on the loop, as with 0, and the log says
why. Tokens in the links carry the service clock's time, passed with each job.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import wait
from multiprocessing.util import Finalize

from pydantic import SecretStr
from sqlalchemy import text

from service import db
from service.briefs.models import Brief, Status
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
    """A process queueing alerts died; the event is retried on a new one."""


class BriefChanged(RuntimeError):
    """The brief changed after its recipients were chosen; the event is retried."""


@dataclass(frozen=True)
class Job:
    """One attempt at one event's alerts: what a process needs besides the recipients."""

    id: str  # the process reads the brief afresh for each attempt
    event_id: int
    revision: int  # the brief's revision the recipients were chosen for
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
        self._starting = asyncio.Lock()
        self._closed = False

    async def start(self) -> bool:
        """Start the processes and see them reach the database (about a second), rather
        than at the first publication. False, and logged, if they cannot."""
        async with self._starting:
            if self._pool is not None:
                return True
            if self._closed:
                return False
            pool = ProcessPoolExecutor(
                self.processes,
                # Not fork: the service's threads, loop and connections must not be copied.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self._settings,),
            )
            loop = asyncio.get_running_loop()
            try:
                await asyncio.gather(
                    *(loop.run_in_executor(pool, _ready) for _ in range(self.processes))
                )
            except Exception:
                log.exception("the processes that queue alerts did not start: alerts are "
                              "composed in the service until they do")  # fmt: skip
                await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
                return False
            self._pool = pool
            return True

    async def queue(
        self,
        event_id: int,
        revision: int,
        chunks: Iterable[Sequence[Recipient]],
        sent: Callable[[], None],
    ) -> bool:
        """Queue the alerts of ``event_id`` (the brief at ``revision``) to ``chunks`` of
        recipients, telling ``sent`` after each. False, having done nothing, if no process
        can be started. Raises FanoutFailed if a process died half-way (the pool is then
        replaced), and the error of a chunk that failed."""
        remaining = iter(chunks)
        first = next(remaining, None)
        if first is None:
            return True
        job = Job(uuid.uuid4().hex, event_id, revision, self._clock())
        loop = asyncio.get_running_loop()
        running: deque[asyncio.Future[int]] = deque()
        pool = await self._started()
        if pool is None:
            return False
        try:
            running.append(loop.run_in_executor(pool, _queue_chunk, job, list(first)))
        except BrokenProcessPool:
            # Its process died while idle (out of memory, say): nothing ran; start anew, once.
            self._discard(pool)
            pool = await self._started()
            if pool is None:
                return False
            running.append(loop.run_in_executor(pool, _queue_chunk, job, list(first)))
        try:
            for chunk in remaining:
                if len(running) == self.processes:
                    await running[0]  # popped once done: a cancelled wait still waits for it
                    running.popleft()
                    sent()
                running.append(loop.run_in_executor(pool, _queue_chunk, job, list(chunk)))
            while running:
                await running[0]
                running.popleft()
                sent()
        except BaseException as exc:
            # A chunk handed to a process runs to its end whatever happens here: wait for
            # those, so that none commits after this attempt is over (a retry, or the brief's
            # withdrawal, may follow at once).
            await asyncio.gather(*running, return_exceptions=True)
            if isinstance(exc, BrokenProcessPool):
                self._discard(pool)
                raise FanoutFailed("a process queueing alerts stopped; retrying") from exc
            raise
        return True

    async def close(self) -> None:
        """Stop the processes, once the chunks they are on are done; none start again."""
        async with self._starting:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def _started(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not await self.start():
            return None
        return self._pool

    def _discard(self, broken: ProcessPoolExecutor) -> None:
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
        self.current: tuple[str, Publication] | None = None  # the job in hand, by its id
        # Before the interpreter exits: it would wait for the database's threads forever.
        Finalize(self, self.close, exitpriority=10)

    def queue(self, job: Job, chunk: list[Recipient]) -> int:
        return self.loop.run_until_complete(self.queue_async(job, chunk))

    async def queue_async(self, job: Job, chunk: list[Recipient]) -> int:
        self.links_at = job.links_at
        current = self.current
        if current is None or current[0] != job.id:
            current = self.current = (job.id, await self._publication(job))
        prepared = await self.alerts.prepare(current[1], chunk)
        await queue_prepared(self.database.sessions, prepared, lambda: None)
        return len(prepared)

    async def _publication(self, job: Job) -> Publication:
        async with self.database.readonly() as session:
            event = await session.get(Event, job.event_id)
            brief = await session.get(Brief, event.brief_id) if event else None
        if event is None or brief is None:
            raise LookupError(f"event {job.event_id} or its brief is gone")
        publication = event.payload.get("publication", brief.publication)
        if (
            brief.revision != job.revision
            or brief.publication != publication
            or brief.status != Status.published
        ):
            raise BriefChanged(
                f"brief {brief.id} changed after its recipients were chosen (revision "
                f"{job.revision}, now {brief.revision}, {brief.status}); retrying"
            )
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
    # Ctrl-C in a terminal reaches the whole process group: the service stops this process
    # itself, after the chunk in hand. And if the service is killed, so is this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    _process = _FanoutProcess(settings)


def _exit_with(sentinel: int) -> None:
    wait([sentinel])
    os._exit(1)


def _ready() -> None:
    """Submitted to start the processes ahead of the first job: each reaches the database."""
    if _process is not None:
        _process.ping()


def _queue_chunk(job: Job, chunk: list[Recipient]) -> int:
    if _process is None:
        raise RuntimeError("a fan-out process runs jobs only after the pool started it")
    try:
        return _process.queue(job, chunk)
    except Exception as exc:
        # An error the service could not rebuild from its pickle would break the whole pool
        # (and read as a dead process): send such a one as its text.
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301  # our own bytes, just made
        except Exception:
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        raise
