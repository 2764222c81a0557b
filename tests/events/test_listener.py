"""The LISTEN connection comes back after it is lost (issue 16, finding 7), and says so once
each way. PostgreSQL only: SQLite has no LISTEN."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.events.dispatcher import Dispatcher, Registration
from service.events.listener import LISTEN
from service.events.models import Event
from service.events.service import CHANNEL
from tests.conftest import Clock
from tests.events.test_dispatcher import TYPES, events
from tests.waiting import until

SESSIONS = text(
    "SELECT pid FROM pg_stat_activity "
    "WHERE datname = current_database() AND query = :listen AND pid <> pg_backend_pid()"
)


@pytest.fixture(autouse=True)
def postgresql_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")


async def listening(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as connection:
        return set((await connection.execute(SESSIONS, {"listen": LISTEN})).scalars())


async def test_a_terminated_listen_connection_comes_back_and_is_woken_by_a_notify(
    engine: AsyncEngine, sessions: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.events.listener")
    handled: list[int] = []

    async def handle(session: AsyncSession, event: Event) -> None:
        handled.append(event.id)

    # Polling once a minute: within the test, only a NOTIFY can wake it.
    dispatcher = Dispatcher(sessions, clock, [Registration("alerts", TYPES, handle)], poll=60)
    dispatcher.start(engine)
    try:
        await until(lambda: listening(engine), within=5, what="a LISTEN session")
        [before] = await listening(engine)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
        await until(lambda: _other_than(engine, before), within=10, what="the LISTEN session back")
        await events(sessions, (uuid.uuid4(), "brief.published"), clock=clock)
        async with engine.begin() as connection:  # another instance's commit
            await connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        await until(lambda: bool(handled), within=5, what="the NOTIFY wakes the dispatcher")
    finally:
        await dispatcher.stop()
    records = [r for r in caplog.records if r.name == "service.events.listener"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    assert "lost the LISTEN connection" in records[0].getMessage()
    assert "LISTEN is back" in records[1].getMessage()
    await until(lambda: _none(engine), within=5, what="no LISTEN session after stop")


async def _other_than(engine: AsyncEngine, pid: int) -> bool:
    return bool(await listening(engine) - {pid})


async def _none(engine: AsyncEngine) -> bool:
    return not await listening(engine)
