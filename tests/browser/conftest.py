"""The real app on a free local port, a real SMTP server, and headless Chromium.

Skipped cleanly when Debian's chromium (/usr/bin/chromium) or Playwright is missing; no
browser is ever downloaded.

Screenshots go to a temporary directory of the run (pytest keeps the last three runs'), or to
``$LEARNHUB_SCREENSHOTS`` when set; the directory is named at the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from service.settings import Settings
from service.staff import service as staff_service
from service.staff.models import Role
from tests.smtp import SmtpServer, free_port, smtp_server

__all__ = ["smtp_server"]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = pytest.StashKey[Path]()  # where this run's screenshots went
PUBLISHER = "browser.publisher@merseyside.police.uk"
ADMIN = "browser.admin@merseyside.police.uk"

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
async def live(settings: Settings, smtp_server: SmtpServer, engine: Any) -> AsyncIterator[str]:
    """The whole service, workers included, at http://127.0.0.1:<port>."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live_settings = settings.model_copy(
        update={"smtp_url": SecretStr(smtp_server.url), "base_url": base}
    )
    runner = web.AppRunner(create_app(live_settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield base
    await runner.cleanup()


@pytest.fixture
async def staff(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        now = datetime.now(UTC)
        await staff_service.create(session, email=PUBLISHER, role=Role.publisher, now=now)
        await staff_service.create(session, email=ADMIN, role=Role.admin, now=now)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("LEARNHUB_SCREENSHOTS")
    if chosen:
        folder = Path(chosen).expanduser().resolve()
    else:
        folder = tmp_path_factory.mktemp("screenshots", numbered=False)
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash[SCREENSHOTS] = folder
    return folder


Screenshot = Callable[..., Awaitable[None]]


@pytest.fixture
def screenshot(screenshots: Path) -> Screenshot:
    """``await screenshot(page, name)``: the whole page, as ``<name>.png``."""

    async def take(page: Any, name: str, *, full_page: bool = True) -> None:
        await page.screenshot(path=str(screenshots / f"{name}.png"), full_page=full_page)

    return take


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if SCREENSHOTS in config.stash:
        terminalreporter.write_line(f"browser screenshots: {config.stash[SCREENSHOTS]}")
