"""Handling link requests after they were answered: one at a time, each in its transaction.

Claiming deletes nothing until the request is handled: the handler's work and the row's
deletion commit together, so a crash leaves the request to be handled again (handlers are
idempotent: a second confirmation email within ten minutes is not sent). Several instances
share the rows with SKIP LOCKED on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.requests.models import LinkRequest

log = logging.getLogger(__name__)
# (session, email, payload, when it was asked)
Handler = Callable[[AsyncSession, str, Mapping[str, Any], datetime], Awaitable[None]]
MAX_ATTEMPTS = 5


async def ask(
    session: AsyncSession, kind: str, email: str, payload: Mapping[str, Any], now: datetime
) -> None:
    """Record a request, in the caller's transaction: all the answer waits for."""
    session.add(LinkRequest(kind=kind, email=email, payload=dict(payload), requested_at=now))


class RequestWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        handlers: Mapping[str, Handler],
        *,
        after: Callable[[], None] = lambda: None,
        poll: float = 5.0,
    ) -> None:
        self.sessions, self.clock, self.handlers = sessions, clock, dict(handlers)
        self.after, self.poll = after, poll  # after: e.g. wake the mail worker
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="link-requests")

    async def stop(self) -> None:
        """Finish the request in hand, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once():
                    pass
            except Exception:
                log.exception("link requests: failed; retrying after the poll interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def run_once(self) -> int:
        """Handle the oldest request, if there is one; how many were handled (0 or 1)."""
        async with self.sessions.begin() as session:
            request = await session.scalar(
                select(LinkRequest)
                .order_by(LinkRequest.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if request is None:
                return 0
            request_id = request.id
            try:
                async with session.begin_nested():
                    await self._handle(session, request)
                    await session.execute(delete(LinkRequest).where(LinkRequest.id == request_id))
            except Exception as exc:
                log.exception("link request %s (%s) failed", request_id, request.kind)
                if request.attempts + 1 >= MAX_ATTEMPTS:
                    # It holds an address: not kept once it is known not to work.
                    log.error("link request %s dropped after %s attempts", request_id, MAX_ATTEMPTS)
                    await session.execute(delete(LinkRequest).where(LinkRequest.id == request_id))
                else:
                    await session.execute(
                        update(LinkRequest)
                        .where(LinkRequest.id == request_id)
                        .values(attempts=LinkRequest.attempts + 1, last_error=str(exc)[:2000])
                    )
        self.after()
        return 1

    async def _handle(self, session: AsyncSession, request: LinkRequest) -> None:
        handler = self.handlers.get(request.kind)
        if handler is None:
            raise LookupError(f"no handler for link requests of kind {request.kind!r}")
        await handler(session, request.email, request.payload, request.requested_at)
