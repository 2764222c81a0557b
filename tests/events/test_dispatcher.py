"""The outbox dispatcher: each handler once per event, retries with backoff, order per brief."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.events.dispatcher import Dispatcher, Registration
from service.events.models import Event
from tests.conftest import Clock

TYPES = frozenset({"brief.published", "brief.withdrawn"})


async def events(
    sessions: async_sessionmaker[AsyncSession], *specs: tuple[uuid.UUID, str], clock: Clock
) -> None:
    async with sessions.begin() as session:
        for brief_id, type_ in specs:
            session.add(
                Event(
                    type=type_,
                    brief_id=brief_id,
                    revision=1,
                    occurred_at=clock(),
                    available_at=clock(),
                    payload={},
                    status="pending",
                    attempts=0,
                    handled=[],
                )
            )


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[Event]:
    async with sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.id)))


async def test_two_dispatchers_run_each_handler_once_per_event(sessions: Any, clock: Clock) -> None:
    calls: Counter[tuple[int, str]] = Counter()

    def handler(name: str) -> Any:
        async def handle(session: AsyncSession, event: Event) -> None:
            calls[(event.id, name)] += 1
            await asyncio.sleep(0)  # let the other dispatcher run in between

        return Registration(name, TYPES, handle)

    await events(sessions, *[(uuid.uuid4(), "brief.published") for _ in range(30)], clock=clock)
    registrations = [handler("alerts"), handler("feeds")]
    first = Dispatcher(sessions, clock, registrations, batch=4)
    second = Dispatcher(sessions, clock, registrations, batch=4)

    async def drain(dispatcher: Dispatcher) -> None:
        while await dispatcher.run_once():
            pass

    await asyncio.gather(drain(first), drain(second))
    assert len(calls) == 60 and set(calls.values()) == {1}
    assert {e.status for e in await rows(sessions)} == {"done"}


async def test_a_failing_handler_is_retried_with_backoff_and_holds_up_only_its_brief(
    sessions: Any, clock: Clock
) -> None:
    failing, other = uuid.uuid4(), uuid.uuid4()
    seen: list[tuple[uuid.UUID, str]] = []
    attempts = {"left": 2}

    async def flaky(session: AsyncSession, event: Event) -> None:
        if event.brief_id == failing and attempts["left"]:
            attempts["left"] -= 1
            session.add(
                Event(
                    type="junk",
                    brief_id=failing,
                    revision=0,
                    occurred_at=clock(),
                    available_at=clock(),
                    payload={},
                    status="done",
                    attempts=0,
                    handled=[],
                )
            )  # written, then rolled back with the failure
            raise ConnectionError("SMTP relay unreachable")
        seen.append((event.brief_id, event.type))

    await events(
        sessions,
        (failing, "brief.published"),
        (failing, "brief.withdrawn"),
        (other, "brief.published"),
        clock=clock,
    )
    dispatcher = Dispatcher(sessions, clock, [Registration("alerts", TYPES, flaky)])
    await dispatcher.run_once()
    assert seen == [(other, "brief.published")]  # the other brief is not held up
    failed = (await rows(sessions))[0]
    assert (
        failed.attempts == 1
        and failed.last_error == "alerts: ConnectionError: SMTP relay unreachable"
    )
    assert failed.available_at > clock() and len(await rows(sessions)) == 3  # nothing half-written

    assert await dispatcher.run_once() == 0  # not before its backoff
    clock.advance(minutes=1)
    await dispatcher.run_once()
    clock.advance(minutes=2)
    while await dispatcher.run_once():
        pass
    assert seen[1:] == [(failing, "brief.published"), (failing, "brief.withdrawn")]  # in order
    assert [e.status for e in await rows(sessions)] == ["done", "done", "done"]


async def test_a_crash_between_handlers_repeats_only_the_unfinished_one(
    sessions: Any, clock: Clock
) -> None:
    calls: Counter[str] = Counter()
    crash = {"once": True}

    async def first(session: AsyncSession, event: Event) -> None:
        calls["first"] += 1

    async def second(session: AsyncSession, event: Event) -> None:
        calls["second"] += 1
        if crash.pop("once", False):
            raise RuntimeError("killed")

    await events(sessions, (uuid.uuid4(), "brief.published"), clock=clock)
    dispatcher = Dispatcher(
        sessions,
        clock,
        [Registration("first", TYPES, first), Registration("second", TYPES, second)],
    )
    await dispatcher.run_once()
    clock.advance(hours=1)
    await dispatcher.run_once()
    assert calls == {"first": 1, "second": 2}
    assert (await rows(sessions))[0].handled == ["first", "second"]


async def test_an_expired_lease_is_claimed_again(sessions: Any, clock: Clock) -> None:
    done: list[int] = []

    async def handle(session: AsyncSession, event: Event) -> None:
        done.append(event.id)

    await events(sessions, (uuid.uuid4(), "brief.published"), clock=clock)
    crashed = Dispatcher(sessions, clock, [], lease=timedelta(minutes=2))
    assert await crashed._claim()  # claimed, then the process "died"
    survivor = Dispatcher(sessions, clock, [Registration("alerts", TYPES, handle)])
    assert await survivor.run_once() == 0
    clock.advance(minutes=3)
    assert await survivor.run_once() == 1 and len(done) == 1


async def test_a_chunked_handler_commits_as_it_goes_and_is_retried_whole(
    sessions: Any, clock: Clock
) -> None:
    calls: list[str] = []
    woken: list[int] = []

    async def chunked(sessions: Any, event: Event, sent: Any) -> None:
        calls.append(event.type)
        sent()  # a chunk committed: the mail worker may start on it
        if len(calls) == 1:
            raise TimeoutError("the database went away between chunks")

    await events(sessions, (uuid.uuid4(), "brief.published"), clock=clock)
    dispatcher = Dispatcher(
        sessions,
        clock,
        [Registration("alerts", TYPES, chunked=chunked)],
        after=lambda: woken.append(1),
    )
    await dispatcher.run_once()
    assert (await rows(sessions))[0].handled == []
    clock.advance(hours=1)
    await dispatcher.run_once()
    event = (await rows(sessions))[0]
    assert calls == ["brief.published", "brief.published"]
    assert event.handled == ["alerts"] and event.status == "done"
    assert len(woken) == 4  # twice by the handler's chunks, once after each attempt


async def test_a_handler_is_passed_over_for_events_it_has_nothing_to_do_for(
    sessions: Any, clock: Clock
) -> None:
    """Registered for every type but acting on withdrawals only: a publication leaves it out,
    with no transaction of its own and no note that it ran."""
    calls: list[tuple[str, str]] = []

    async def taking_back(sessions: Any, event: Event, sent: Any) -> None:
        calls.append(("taking_back", event.type))

    async def alerts(session: AsyncSession, event: Event) -> None:
        calls.append(("alerts", event.type))

    await events(
        sessions, (uuid.uuid4(), "brief.published"), (uuid.uuid4(), "brief.withdrawn"), clock=clock
    )
    dispatcher = Dispatcher(
        sessions,
        clock,
        [
            Registration(
                "taking-back",
                TYPES,
                chunked=taking_back,
                when=lambda event: event.type == "brief.withdrawn",
            ),
            Registration("alerts", frozenset({"brief.published"}), alerts),
        ],
    )
    assert await dispatcher.run_once() == 2
    assert calls == [("alerts", "brief.published"), ("taking_back", "brief.withdrawn")]
    published, withdrawn = await rows(sessions)
    assert (published.status, published.handled) == ("done", ["alerts"])
    assert (withdrawn.status, withdrawn.handled) == ("done", ["taking-back"])
