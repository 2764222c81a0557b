"""The real app on a free local port, a real SMTP server, and headless Chromium.

Skipped cleanly when Debian's chromium (/usr/bin/chromium) or Playwright is missing; no
browser is ever downloaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
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
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
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


@pytest.fixture
def screenshot() -> Any:
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / ".gitignore").write_text("*\n")

    async def take(page: Any, name: str) -> None:
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
