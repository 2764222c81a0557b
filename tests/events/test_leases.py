"""Event leases are short and renewed while a batch is in hand (issue 16, finding 8): a long
fan-out is never claimed by a second dispatcher, a dead one's events come back within half a
minute, and a handler's ``Later`` still puts its event off without counting a failure."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from service.events.dispatcher import Dispatcher, Later, Registration
from service.events.models import Event
from tests.conftest import Clock
from tests.events.test_dispatcher import TYPES, events, rows
from tests.waiting import until

LEASE = timedelta(seconds=30)  # the dispatcher's default


async def renewed(sessions: Any, clock: Clock) -> None:
    """Wait for a heartbeat to renew the lease at the clock's time: every event still pending
    (in hand) is then leased a whole lease from now."""

    async def from_now() -> bool:
        held = [e.leased_until for e in await rows(sessions) if e.status == "pending"]
        return bool(held) and all(leased == clock() + LEASE for leased in held)

    await until(from_now, within=10, what=f"the lease renewed at {clock()}", step=0.002)


async def test_a_long_fan_out_keeps_its_event_from_a_second_dispatcher(
    sessions: Any, clock: Clock
) -> None:
    calls: list[int] = []
    taken: list[int] = []
    other = Dispatcher(sessions, clock, [])

    async def fan_out(sessions: Any, event: Event, sent: Any) -> None:
        calls.append(event.id)
        for _ in range(30):  # five minutes of the dispatcher's clock, ten lease lengths
            clock.advance(seconds=10)
            await renewed(sessions, clock)
            taken.extend((await other._claim()).ids)

    await events(
        sessions,
        (uuid.uuid4(), "brief.published"),
        (uuid.uuid4(), "brief.published"),
        clock=clock,
    )
    dispatcher = Dispatcher(
        sessions, clock, [Registration("alerts", TYPES, chunked=fan_out)], heartbeat=0.002
    )
    assert await dispatcher.run_once() == 2
    assert taken == []  # neither the event in hand nor the one waiting behind it
    assert len(calls) == 2
    assert {(e.status, e.leased_until) for e in await rows(sessions)} == {("done", None)}


async def test_a_dead_dispatchers_events_come_back_after_half_a_minute(
    sessions: Any, clock: Clock
) -> None:
    done: list[int] = []

    async def handle(session: AsyncSession, event: Event) -> None:
        done.append(event.id)

    await events(sessions, (uuid.uuid4(), "brief.published"), clock=clock)
    assert await Dispatcher(sessions, clock, [])._claim()  # claimed, then the process died
    survivor = Dispatcher(sessions, clock, [Registration("alerts", TYPES, handle)])
    assert await survivor.run_once() == 0
    clock.advance(seconds=31)
    assert await survivor.run_once() == 1 and len(done) == 1


async def test_later_puts_the_event_off_without_a_failure_while_the_lease_is_renewed(
    sessions: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.events.dispatcher")
    waits = {"left": 1}

    async def notices(sessions: Any, event: Event, sent: Any) -> None:
        clock.advance(seconds=1)
        await renewed(sessions, clock)  # a heartbeat comes meanwhile
        if waits["left"]:
            waits["left"] -= 1
            raise Later("an email carrying the brief is being sent")

    await events(sessions, (uuid.uuid4(), "brief.withdrawn"), clock=clock)
    dispatcher = Dispatcher(
        sessions, clock, [Registration("notices", TYPES, chunked=notices)], heartbeat=0.001
    )
    assert await dispatcher.run_once() == 1
    [event] = await rows(sessions)
    assert (event.status, event.attempts, event.leased_until) == ("pending", 0, None)
    assert event.available_at == clock() + timedelta(seconds=5)
    assert not any("claimed by another" in r.getMessage() for r in caplog.records)
    clock.advance(seconds=5)
    assert await dispatcher.run_once() == 1
    [event] = await rows(sessions)
    assert (event.status, event.attempts, event.handled) == ("done", 0, ["notices"])


async def test_a_stopping_dispatcher_hands_back_what_it_has_not_begun(
    sessions: Any, clock: Clock
) -> None:
    dispatcher: Dispatcher

    async def handle(session: AsyncSession, event: Event) -> None:
        await dispatcher.stop()  # SIGTERM while the first event is in hand

    await events(sessions, *[(uuid.uuid4(), "brief.published") for _ in range(3)], clock=clock)
    dispatcher = Dispatcher(sessions, clock, [Registration("alerts", TYPES, handle)])
    assert await dispatcher.run_once() == 3
    first, *rest = await rows(sessions)
    assert first.status == "done"
    assert [(e.status, e.leased_until) for e in rest] == [("pending", None)] * 2
    survivor = Dispatcher(sessions, clock, [Registration("alerts", TYPES, handle)])
    assert len(await survivor._claim()) == 2  # at once, not after the lease
