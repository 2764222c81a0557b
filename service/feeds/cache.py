"""The rendered bytes of feeds, kept in process and dropped when the content changes.

Every change to what a feed shows (publish, update, edit, withdrawal) writes an event row,
and event ids only grow, so the newest event id is a version of all the content. The cache
reads it at most once per ``recheck`` (a cheap index-only lookup) and empties itself when it
moves; ``invalidate()`` lets the local dispatcher empty it at once. Another process's
change is therefore seen within ``recheck``, and each feed is rendered once per change, not
once per request: concurrent requests for the same feed wait on one render.

On PostgreSQL an event can commit after one with a higher id, which the version would
miss; ``max_age`` bounds how long such a change can stay hidden.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from service.clock import Clock

VersionReader = Callable[[], Awaitable[int]]
Renderer = Callable[[], Awaitable["RenderedFeed"]]


@dataclass(frozen=True)
class RenderedFeed:
    """A feed's bytes, and gzipped once here rather than on every request (several times
    smaller: feed readers poll, many from NHS and police networks)."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    gzip_etag: str  # each encoding of the same content has its own strong ETag
    last_modified: datetime
    last_modified_http: str

    @classmethod
    def of(cls, body: bytes, content_type: str, last_modified: datetime) -> RenderedFeed:
        # HTTP dates carry whole seconds; dropping the fraction keeps If-Modified-Since exact.
        last_modified = last_modified.replace(microsecond=0)
        digest = hashlib.sha256(body).hexdigest()[:32]
        http_date = format_datetime(last_modified, usegmt=True)
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            content_type=content_type,
            etag=f'"{digest}"',
            gzip_etag=f'"{digest}-gzip"',
            last_modified=last_modified,
            last_modified_http=http_date,
        )


@dataclass(frozen=True)
class _Entry:
    feed: RenderedFeed
    stored_at: datetime


class FeedCache:
    """An LRU of rendered feeds, valid for one content version."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_entries: int = 256,
        recheck: timedelta = timedelta(seconds=1),
        max_age: timedelta = timedelta(seconds=60),
    ) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._recheck = recheck
        self._max_age = max_age
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._rendering: dict[Hashable, asyncio.Future[RenderedFeed]] = {}
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

    async def get(self, key: Hashable, *, version: VersionReader, render: Renderer) -> RenderedFeed:
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self._recheck:
            await self._check_version(version)
        entry = self._entries.get(key)
        if entry is not None and now - entry.stored_at < self._max_age:
            self._entries.move_to_end(key)
            return entry.feed
        pending = self._rendering.get(key)
        if pending is None:
            pending = self._start(key, render)
        # shield: a waiter that goes away must not cancel the render the others wait for.
        return await asyncio.shield(pending)

    def _start(self, key: Hashable, render: Renderer) -> asyncio.Future[RenderedFeed]:
        generation = self._generation
        task = asyncio.ensure_future(render())
        self._rendering[key] = task
        self.renders += 1

        def done(task: asyncio.Future[RenderedFeed]) -> None:
            if self._rendering.get(key) is task:
                del self._rendering[key]
            if generation != self._generation or task.cancelled() or task.exception():
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
