"""The app on a real port, in a thread of its own, for tools that speak plain HTTP.

Schemathesis sends its requests with a blocking client, so the server can't share the
test's event loop: it gets a loop in a thread, with its own database engine, and counts
every answer it gives by status.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from learnhub.app import create_app
from learnhub.keys import engine_key, sessions_key
from service.settings import Settings
from service.staff import service as staff_service
from service.staff.models import Role
from tests.conftest import Clock, wipe

T = TypeVar("T")


@dataclass
class LiveServer:
    """One app served on 127.0.0.1 from a thread; ``statuses`` counts its answers."""

    settings: Settings
    url: str = ""
    statuses: Counter[int] = field(default_factory=Counter)
    _loop: asyncio.AbstractEventLoop | None = None
    _app: web.Application | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _failed: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self._failed:
            raise RuntimeError("the app did not start") from self._failed

    def run(self, work: Callable[[web.Application], Awaitable[T]]) -> T:
        """Run ``work(app)`` on the server's loop and wait for its result."""
        assert self._loop is not None and self._app is not None
        return asyncio.run_coroutine_threadsafe(work(self._app), self._loop).result(30)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    async def _serve(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            clock = Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
            self._app = create_app(self.settings, clock=clock, run_workers=False)
            self._app.on_response_prepare.append(self._count)
            runner = web.AppRunner(self._app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            await wipe(self._app[engine_key])
        except BaseException as exc:
            self._failed = exc
            raise
        finally:
            self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def _count(self, _request: web.Request, response: web.StreamResponse) -> None:
        self.statuses[response.status] += 1


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        base_url="http://127.0.0.1:8080",
        secret_key="fuzz-secret-key",  # type: ignore[arg-type]  # noqa: S106
        maildir=Path(tmp_path_factory.mktemp("mail")),
        practitioner_domains="nhs.net,merseyside.police.uk",  # type: ignore[arg-type]
    )
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin_token(live_server: LiveServer) -> str:
    async def create(app: web.Application) -> str:
        async with app[sessions_key].begin() as session:
            return await staff_service.create(
                session, email="fuzz@merseyside.police.uk", role=Role.admin,
                now=datetime.now(UTC),
            )  # fmt: skip

    return live_server.run(create)
