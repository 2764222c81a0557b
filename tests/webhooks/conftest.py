"""A partner's receiver in the tests: a real aiohttp server on 127.0.0.1 that records what
it is sent and answers as a test scripts it; an app allowed to post to it, its workers
driven by hand; helpers to register endpoints, publish briefs and check signatures."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from standardwebhooks import Webhook

from learnhub.app import create_app
from learnhub.keys import dispatcher_key, mail_worker_key, webhook_worker_key
from service.settings import Settings
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]
BASE = "https://learnhub.example"


@dataclass(frozen=True)
class Got:
    """One request the receiver was sent."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers each path as scripted (``answer``), then 200; records every request."""

    base: str = ""
    got: list[Got] = field(default_factory=list)
    delay: float = 0.0  # real seconds before each answer
    script: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    always: dict[str, int] = field(default_factory=dict)
    refuse: dict[bytes, int] = field(default_factory=dict)  # bodies holding these: that status
    before: Callable[[], None] | None = None  # called as each request comes in

    def url(self, path: str) -> str:
        return self.base + path

    def answer(self, path: str, *statuses: int) -> None:
        self.script[path].extend(statuses)

    def at(self, path: str) -> list[Got]:
        return [g for g in self.got if g.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.got.append(Got(request.path, dict(request.headers), body))
        if self.before is not None:
            self.before()
        if self.delay:
            await asyncio.sleep(self.delay)
        queued = self.script[request.path]
        status = queued.popleft() if queued else self.always.get(request.path, 200)
        status = next((s for marker, s in self.refuse.items() if marker in body), status)
        headers = {"Location": self.url("/elsewhere")} if 300 <= status < 400 else {}
        if status == 503:
            headers["Retry-After"] = "120"
        text = "thanks" if status < 300 else f"<h1>{status}</h1> not now"
        return web.Response(status=status, text=text, headers=headers)


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    receiver.base = f"http://127.0.0.1:{server.port}"
    return receiver


@pytest.fixture
def hook_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"webhooks_allow_private": True, "smtp_url": SecretStr(smtp_server.url)}
    )


@pytest.fixture
def real_clock(clock: Clock) -> Clock:
    """The test clock set a few minutes before the real time: signatures carry it, and
    the library checks them against the real time (5 minutes either way)."""
    clock.now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4)
    return clock


@pytest.fixture
async def hooks(
    aiohttp_client: Any, hook_settings: Settings, real_clock: Clock, engine: Any
) -> TestClient:
    """The app with its workers left to the test (``drain``)."""
    app = create_app(hook_settings, clock=real_clock, run_workers=False)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def drain(client: TestClient) -> None:
    """Dispatch every due event, post every due delivery and send every due email."""
    app = client.server.app
    assert app is not None
    while (
        await app[dispatcher_key].run_once()
        + await app[webhook_worker_key].run_once()
        + await app[mail_worker_key].run_once()
    ):
        pass


async def register(
    client: TestClient, admin: dict[str, str], url: str, **fields: Any
) -> dict[str, Any]:
    fields.setdefault("event_types", ["brief.published", "brief.updated", "brief.withdrawn"])
    response = await client.post("/api/v1/webhooks", json={"url": url, **fields}, headers=admin)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def publish(client: TestClient, publisher: dict[str, str], **fields: Any) -> str:
    created = await client.post("/api/v1/briefs", json=brief_body(**fields), headers=publisher)
    assert created.status == 201, await created.text()
    brief = str((await created.json())["id"])
    response = await client.post(f"/api/v1/briefs/{brief}/publish", headers=publisher)
    assert response.status == 200, await response.text()
    return brief


async def deliveries(
    client: TestClient, admin: dict[str, str], endpoint: int
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=admin)
    assert response.status == 200, await response.text()
    return list((await response.json())["items"])


def signed(secret: str, got: Got, *, now_ok: bool = True) -> Any:
    """The body, once its signature is checked with the Standard Webhooks library: its
    ``verify`` (which also checks the timestamp against the real time) when ``now_ok``,
    else its ``sign`` over the same id, timestamp and body."""
    if now_ok:
        return Webhook(secret).verify(got.body, got.headers)
    at = datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(got.id, at, got.body.decode())
    assert expected in got.headers["webhook-signature"].split(" ")
    return got.json()


def bodies(gots: Sequence[Got]) -> list[tuple[str, str]]:
    """(type, brief id) of each request, in order."""
    return [(g.json()["type"], g.json()["data"]["id"]) for g in gots]
