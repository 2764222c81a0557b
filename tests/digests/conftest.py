"""Digests under test: an app with its background work held, driven by hand on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from digests.schedule import latest_scheduled
from digests.service import Summary, run_digest
from learnhub.app import create_app
from learnhub.keys import dispatcher_key, mail_worker_key, requests_key
from learnhub.schedule import digests_of
from service.settings import Settings
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.subscribers.conftest import mail_settings, smtp_server

__all__ = ["mail_settings", "smtp_server"]


@pytest.fixture
async def quiet(
    aiohttp_client: Any, mail_settings: Settings, clock: Clock, engine: Any
) -> TestClient:
    app = create_app(mail_settings, clock=clock, run_workers=False)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def drain(app: web.Application) -> None:
    """Dispatch every due event and send every due email, as the workers would."""
    while (
        await app[requests_key].run_once()
        + await app[dispatcher_key].run_once()
        + await app[mail_worker_key].run_once()
    ):
        pass


async def digest(client: TestClient, clock: Clock, frequency: str, when: str) -> Summary:
    """Run the digest due at ``when`` (UTC), with the clock just after it, then send it."""
    clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)
    app = client.server.app
    assert app is not None
    digests = digests_of(app)
    period_end = latest_scheduled(clock(), frequency, digests.settings)
    summary = await run_digest(digests, frequency, period_end, now=clock())
    await drain(app)
    return summary


async def publish(
    client: TestClient, staff: dict[str, str], clock: Clock, when: str, **fields: Any
) -> str:
    clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)
    created = await (
        await client.post("/api/v1/briefs", json=brief_body(**fields), headers=staff)
    ).json()
    response = await client.post(f"/api/v1/briefs/{created['id']}/publish", headers=staff)
    assert response.status == 200, await response.text()
    return str(created["id"])
