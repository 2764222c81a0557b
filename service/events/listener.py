"""PostgreSQL's LISTEN: wakes a dispatcher when another instance commits an event.

The connection that listens can go away (the server restarted, an administrator ended it,
the network dropped): asyncpg tells its termination listeners when the connection closes,
and a check every ``check`` seconds catches one that went silent without closing. Either
way the listener connects again, at once and then with a growing pause, and the dispatcher
polls meanwhile. The log says it once when the LISTEN is lost and once when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.events.service import CHANNEL

log = logging.getLogger(__name__)
LISTEN = f'LISTEN "{CHANNEL}"'


class Listener:
    def __init__(
        self,
        engine: AsyncEngine,
        wake: Callable[[], None],
        *,
        retry: float = 5.0,
        check: float = 30.0,
    ) -> None:
        self._engine, self._wake = engine, wake
        self._retry, self._check = retry, check

    async def run(self) -> None:
        """Listen until cancelled, connecting again whenever the connection is lost."""
        loop = asyncio.get_running_loop()
        lost_at: float | None = None
        pause = 0.0
        while True:
            try:
                async with self._engine.connect() as connection:
                    try:
                        closed = await self._subscribe(connection)
                        if lost_at is not None:
                            log.info(
                                "event listener: LISTEN is back after %.1f s",
                                loop.time() - lost_at,
                            )
                        lost_at, pause = None, 0.0
                        self._wake()  # events may have come while nobody listened
                        reason = await self._until_lost(connection, closed)
                    finally:
                        # Never back into the pool: it listens, and it may be broken.
                        await connection.invalidate()
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if lost_at is None:
                lost_at = loop.time()
                log.warning(
                    "event listener: lost the LISTEN connection (%s); the dispatcher polls "
                    "until it is back",
                    reason,
                )
            await asyncio.sleep(pause)
            pause = min(max(pause * 2, 0.5), self._retry)

    async def _subscribe(self, connection: AsyncConnection) -> asyncio.Event:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        closed = asyncio.Event()
        raw.add_termination_listener(lambda _connection: closed.set())
        await raw.add_listener(CHANNEL, lambda *_: self._wake())
        return closed

    async def _until_lost(self, connection: AsyncConnection, closed: asyncio.Event) -> str:
        """Wait until the connection closes or stops answering; say why."""
        raw: Any = (await connection.get_raw_connection()).driver_connection
        while True:
            try:
                await asyncio.wait_for(closed.wait(), self._check)
            except TimeoutError:
                pass
            else:
                return "the connection was closed"
            try:
                # LISTEN again, which changes nothing: an answer proves the connection alive,
                # and pg_stat_activity goes on showing what the session is for.
                await asyncio.wait_for(raw.execute(LISTEN), self._check / 3)
            except Exception as exc:
                return f"it did not answer a check: {type(exc).__name__}: {exc}"
