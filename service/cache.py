"""What is rendered from the published content (feeds, public pages), kept in process and
dropped when the content changes.

Every change to what readers are shown (publish, update, edit, withdrawal) writes an event
row, and event ids only grow, so the newest event id is a version of all the content. The
cache reads it at most once per ``recheck`` (a cheap index-only lookup) and empties itself
when it moves; ``invalidate()`` lets the process empty it at once (its dispatcher, or a
handler after a change that writes no event). Another process's change is therefore seen
within ``recheck``, and each entry is rendered once per change, not once per request:
concurrent requests for the same key wait on one render.

On PostgreSQL an event can commit after one with a higher id, which the version would
miss; ``max_age`` bounds how long such a change can stay hidden.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from service.clock import Clock

T = TypeVar("T")
VersionReader = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T
    stored_at: datetime


class ContentCache(Generic[T]):
    """An LRU of rendered values, valid for one content version. ``keep`` says whether a
    value may be stored at all (one that depends on more than the events may not be)."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_entries: int = 256,
        recheck: timedelta = timedelta(seconds=1),
        max_age: timedelta = timedelta(seconds=60),
        keep: Callable[[T], bool] = lambda _value: True,
    ) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._recheck = recheck
        self._max_age = max_age
        self._keep = keep
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._rendering: dict[Hashable, asyncio.Future[T]] = {}
        self._version: int | None = None
        self._checked_at: datetime | None = None
        self._version_lock = asyncio.Lock()
        # Bumped whenever the entries are dropped, so that a render which started before
        # then is not stored afterwards.
        self._generation = 0
        self.renders = 0

    def __len__(self) -> int:
        return len(self._entries)

    def invalidate(self) -> None:
        """Drop every entry now, and read the version again on the next request."""
        self._entries.clear()
        self._rendering.clear()
        self._generation += 1
        self._checked_at = None

    def peek(self, key: Hashable) -> T | None:
        """The stored value, if it may be served without reading the version first: the
        fast path of a hit, with nothing to await."""
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self._recheck:
            return None
        entry = self._entries.get(key)
        if entry is None or now - entry.stored_at >= self._max_age:
            return None
        self._entries.move_to_end(key)
        return entry.value

    async def get(
        self, key: Hashable, *, version: VersionReader, render: Callable[[], Awaitable[T]]
    ) -> T:
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self._recheck:
            await self._check_version(version)
        entry = self._entries.get(key)
        if entry is not None and now - entry.stored_at < self._max_age:
            self._entries.move_to_end(key)
            return entry.value
        pending = self._rendering.get(key)
        if pending is None:
            pending = self._start(key, render)
        # shield: a waiter that goes away must not cancel the render the others wait for.
        return await asyncio.shield(pending)

    def _start(self, key: Hashable, render: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        generation = self._generation
        task = asyncio.ensure_future(render())
        self._rendering[key] = task
        self.renders += 1

        def done(task: asyncio.Future[T]) -> None:
            if self._rendering.get(key) is task:
                del self._rendering[key]
            if generation != self._generation or task.cancelled() or task.exception():
                return
            if not self._keep(task.result()):
                return
            self._entries[key] = _Entry(task.result(), self._clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

        task.add_done_callback(done)
        return task

    async def _check_version(self, version: VersionReader) -> None:
        if not self._due():
            return
        async with self._version_lock:
            if not self._due():  # another request checked while this one waited
                return
            checked_at = self._clock()
            current = await version()
            self._checked_at = checked_at
            if current != self._version:
                self._version = current
                self._entries.clear()
                self._rendering.clear()
                self._generation += 1

    def _due(self) -> bool:
        return self._checked_at is None or self._clock() - self._checked_at >= self._recheck
