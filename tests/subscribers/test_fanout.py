"""Alerts composed and queued by a process of the fan-out pool (LEARNHUB_FANOUT_PROCESSES=1).

The rest of the suite composes alerts on its own loop (fanout_processes=0); these tests run
the real processes, spawned, against the test database and the test SMTP server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, insert, select, text, update

from service import db
from service.app import create_app
from service.briefs.models import Brief
from service.events.models import Event
from service.keys import dispatcher_key, links_key
from service.mail.models import MailDelivery, MailMessage
from service.settings import Settings
from subscribers.fanout import BriefChanged, Fanout
from subscribers.matching import Recipient
from subscribers.models import Subscriber
from subscribers.tokens import Purpose
from tests.conftest import Clock
from tests.digests.conftest import drain, publish
from tests.smtp import Received, SmtpServer

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def fanout_settings(mail_settings: Settings) -> Settings:
    return mail_settings.model_copy(update={"fanout_processes": 1})


@pytest.fixture
async def held(aiohttp_client: Any, fanout_settings: Settings, clock: Clock, engine: Any) -> Any:
    """The app with its background work held: the test runs the dispatcher by hand."""
    return await aiohttp_client(create_app(fanout_settings, clock=clock, run_workers=False))


async def people(sessions: Any, n: int) -> dict[str, int]:
    """``n`` immediate subscribers with no filter (every brief concerns them): email -> id."""
    rows = [
        {
            "id": i,
            "email": f"p{i}@nhs.net",
            "domain": "nhs.net",
            "created_at": SINCE,
            "confirmed_at": SINCE,
            "consented_at": SINCE,
            "consent_version": "2026-01",
            "status": "active",
            "frequency": "immediate",
            "token_version": 1,
        }
        for i in range(1, n + 1)
    ]
    async with sessions.begin() as session:
        await session.execute(insert(Subscriber), rows)
    return {row["email"]: row["id"] for row in rows}


async def alerts(sessions: Any) -> list[tuple[str, str]]:
    async with sessions() as session:
        query = select(MailMessage.recipient, MailMessage.idempotency_key).where(
            MailMessage.kind == "alert"
        )
        return [(r, k) for r, k in await session.execute(query)]


async def count(sessions: Any, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_process_queues_one_alert_per_person_with_their_own_links(
    held: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    everyone = await people(sessions, 250)  # two chunks: 100, then 150
    app = held.server.app
    assert app is not None
    brief = await publish(held, publisher, clock, "2026-11-23 10:00", title="Safer sleep")
    assert await app[dispatcher_key].run_once() == 1

    assert sorted(r for r, _ in await alerts(sessions)) == sorted(everyone)
    assert await count(sessions, MailDelivery) == 250
    await drain(app)  # nothing more to dispatch; the mail worker sends them
    assert len(smtp_server.messages) == 250
    message = smtp_server.messages[0]
    token = re.search(r"/subscriptions/manage/(\S+)", text_of(message))
    assert token, text_of(message)
    tokens = app[links_key].tokens
    assert (
        tokens.read(token.group(1), Purpose.manage).subscriber_id == everyone[message.recipients[0]]
    )
    _, stamped = tokens._serializer.loads(token.group(1), return_timestamp=True)
    assert stamped == clock.now  # the service's clock, not the process's

    clock.advance(hours=1)
    change = {
        "learning_points": ["Ask about sleep at every visit."],
        "significant": True,
        "change_note": "Learning points revised after the audit.",
    }
    response = await held.patch(f"/api/v1/briefs/{brief}", json=change, headers=publisher)
    assert response.status == 200, await response.text()
    await drain(app)
    assert len(smtp_server.messages) == 500
    assert "Learning points revised after the audit." in text_of(smtp_server.messages[-1])


async def test_a_process_killed_half_way_is_replaced_and_nobody_is_missed(
    held: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    engine: Any,
) -> None:
    everyone = await people(sessions, 3100)  # chunks of 100, 200, 400, 800, 1600
    app = held.server.app
    assert app is not None
    dispatcher = app[dispatcher_key]
    reads = db.sessionmaker(engine, readonly=True)  # polling must not take the write lock
    await publish(held, publisher, clock, "2026-11-23 10:00", title="Safer sleep")
    running = asyncio.create_task(dispatcher.run_once())
    async with asyncio.timeout(60):
        # Committed by another process: its rows are all there is to see.
        while await count(reads, MailMessage) < 100:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    async with sessions.begin() as session:
        # Holding the write lock, the process can commit nothing more: it dies half-way.
        await session.connection()  # BEGIN IMMEDIATE on SQLite: the lock, taken now
        if engine.dialect.name == "postgresql":
            await session.execute(text("LOCK TABLE mail_messages IN EXCLUSIVE MODE"))
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    assert await running == 1

    async with sessions() as session:
        event = await session.scalar(select(Event))
    assert event is not None and event.status == "pending" and event.attempts == 1
    assert "alerts: FanoutFailed: a process queueing alerts stopped" in (event.last_error or "")
    assert 100 <= len(await alerts(sessions)) < 3100

    clock.advance(minutes=1)  # past the retry's backoff
    assert await dispatcher.run_once() == 1  # on a new process
    assert sorted(r for r, _ in await alerts(sessions)) == sorted(everyone)
    assert await count(sessions, MailDelivery) == 3100


async def test_an_error_in_a_chunk_fails_the_attempt_after_the_chunks_in_flight(
    aiohttp_client: Any,
    fanout_settings: Settings,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    engine: Any,
) -> None:
    two = fanout_settings.model_copy(update={"fanout_processes": 2})  # two chunks at a time
    held = await aiohttp_client(create_app(two, clock=clock, run_workers=False))
    await people(sessions, 700)  # chunks of 100, 200 (with the bad address), 400
    async with sessions.begin() as session:  # an address no email header may carry
        await session.execute(
            update(Subscriber).where(Subscriber.id == 150).values(email="p150@nhs.net\nBcc: x")
        )
    app = held.server.app
    assert app is not None
    await publish(held, publisher, clock, "2026-11-23 10:00", title="Safer sleep")
    assert await app[dispatcher_key].run_once() == 1

    async with sessions() as session:
        event = await session.scalar(select(Event))
    assert event is not None and event.attempts == 1
    assert "UnsafeHeader" in (event.last_error or "")
    at_failure = len(await alerts(sessions))
    assert at_failure == 500  # the chunks before and beside the bad one
    await held.close()  # the processes stop once whatever they hold is done
    assert len(await alerts(sessions)) == at_failure  # nothing committed after the attempt


async def test_a_process_refuses_a_brief_changed_since_its_recipients_were_chosen(
    held: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    fanout_settings: Settings,
) -> None:
    await people(sessions, 3)
    await publish(held, publisher, clock, "2026-11-23 10:00", title="Safer sleep")
    async with sessions() as session:
        event = await session.scalar(select(Event))
        brief = await session.get(Brief, event.brief_id) if event else None
    assert event is not None and brief is not None
    chosen = [Recipient(1, "p1@nhs.net", 1, personal=True)]
    fanout = Fanout(fanout_settings, clock)
    try:
        with pytest.raises(BriefChanged, match="changed after its recipients were chosen"):
            await fanout.queue(event.id, brief.revision - 1, [chosen], lambda: None)
        assert await alerts(sessions) == []
        assert await fanout.queue(event.id, brief.revision, [chosen], lambda: None)
        assert [r for r, _ in await alerts(sessions)] == ["p1@nhs.net"]
    finally:
        await fanout.close()


async def test_processes_that_cannot_start_leave_the_alerts_to_the_service(
    fanout_settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    unusable = fanout_settings.model_copy(
        update={"database_url": "sqlite+aiosqlite:////proc/learnhub/test.db"}
    )
    fanout = Fanout(unusable, clock)
    chosen = [Recipient(1, "p1@nhs.net", 1, personal=True)]
    assert not await fanout.start()
    assert "alerts are composed in the service until they do" in caplog.text
    assert not await fanout.queue(1, 1, [chosen], lambda: None)  # so the service does it
    assert multiprocessing.active_children() == []
    await fanout.close()


async def test_the_processes_start_with_the_service_and_stop_with_it(
    aiohttp_client: Any, fanout_settings: Settings, clock: Clock, engine: Any
) -> None:
    assert multiprocessing.active_children() == []
    client = await aiohttp_client(create_app(fanout_settings, clock=clock))
    assert len(multiprocessing.active_children()) == 1  # started, and connected, at startup
    await client.close()
    assert multiprocessing.active_children() == []


def text_of(message: Received) -> str:
    return message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr,no-any-return]
