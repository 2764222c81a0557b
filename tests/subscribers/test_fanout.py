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
from sqlalchemy import func, insert, select

from service.app import create_app
from service.events.models import Event
from service.keys import dispatcher_key, links_key
from service.mail.models import MailDelivery, MailMessage
from service.settings import Settings
from subscribers.models import Subscriber
from subscribers.tokens import Purpose
from tests.conftest import Clock
from tests.digests.conftest import drain, publish
from tests.smtp import SmtpServer

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
    await publish(held, publisher, clock, "2026-11-23 10:00", title="Safer sleep")
    assert await app[dispatcher_key].run_once() == 1

    queued = await alerts(sessions)
    assert sorted(r for r, _ in queued) == sorted(everyone)
    assert len({k for _, k in queued}) == 250
    assert await count(sessions, MailDelivery) == 250
    await drain(app)  # nothing more to dispatch; the mail worker sends them
    assert len(smtp_server.messages) == 250
    message = smtp_server.messages[0]
    text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/subscriptions/manage/(\S+)", text)
    assert token, text
    claims = app[links_key].tokens.read(token.group(1), Purpose.manage)
    assert claims.subscriber_id == everyone[message.recipients[0]]


async def test_a_process_killed_half_way_is_replaced_and_nothing_is_queued_twice(
    held: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
) -> None:
    everyone = await people(sessions, 3100)  # chunks of 100, 200, 400, 800, 1600
    app = held.server.app
    assert app is not None
    dispatcher = app[dispatcher_key]
    await publish(held, publisher, clock, "2026-11-23 10:00", title="Safer sleep")
    running = asyncio.create_task(dispatcher.run_once())
    async with asyncio.timeout(60):
        # The first chunk is committed by another process: its rows are what there is to see.
        while await count(sessions, MailMessage) < 100:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    for child in multiprocessing.active_children():
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    assert await running == 1

    async with sessions() as session:
        event = await session.scalar(select(Event))
    assert event is not None and event.status == "pending" and event.attempts == 1
    assert "alerts: FanoutFailed: the process queueing alerts stopped" in (event.last_error or "")
    assert 100 <= len(await alerts(sessions)) < 3100  # killed half-way, as the test means

    clock.advance(minutes=1)  # past the retry's backoff
    assert await dispatcher.run_once() == 1  # on a new process
    queued = await alerts(sessions)
    assert sorted(r for r, _ in queued) == sorted(everyone)
    assert await count(sessions, MailDelivery) == 3100


async def test_the_processes_start_with_the_service_and_stop_with_it(
    aiohttp_client: Any, fanout_settings: Settings, clock: Clock, engine: Any
) -> None:
    assert multiprocessing.active_children() == []
    client = await aiohttp_client(create_app(fanout_settings, clock=clock))
    assert len(multiprocessing.active_children()) == 1  # started, and connected, at startup
    await client.close()
    assert multiprocessing.active_children() == []
