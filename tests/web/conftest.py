"""An app whose mail goes to a real SMTP server, with its workers running, on plain http."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from service.settings import Settings
from service.staff import service as staff_service
from service.staff.models import Role
from tests.conftest import Clock
from tests.smtp import Received, SmtpServer, smtp_server
from tests.web.helpers import csrf

__all__ = ["smtp_server"]
BASE = "http://127.0.0.1:8080"
PUBLISHER = "ppu.publisher@merseyside.police.uk"
ADMIN = "ppu.admin@merseyside.police.uk"


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    # Plain http, so that the test client keeps the (then not Secure) cookies.
    return settings.model_copy(update={"smtp_url": SecretStr(smtp_server.url), "base_url": BASE})


@pytest.fixture
async def web(
    aiohttp_client: Any, mail_settings: Settings, clock: Clock, engine: Any
) -> TestClient:
    return await aiohttp_client(create_app(mail_settings, clock=clock))  # type: ignore[no-any-return]


@pytest.fixture
async def staff(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        now = datetime.now(UTC)
        await staff_service.create(session, email=PUBLISHER, role=Role.publisher, now=now)
        await staff_service.create(session, email=ADMIN, role=Role.admin, now=now)


def link(message: Received, path: str) -> str:
    text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(re.escape(BASE + path) + r"\S+", text)
    assert found, f"no {path} link in:\n{text}"
    return found.group(0).removeprefix(BASE)


async def form_post(client: TestClient, page: str, data: Any, path: str | None = None) -> Any:
    """Open a page, then send its form with the page's CSRF token, as a browser would."""
    opened = await client.get(page)
    assert opened.status == 200, await opened.text()
    fields = [("csrf_token", csrf(await opened.text()))]
    fields += list(data.items()) if isinstance(data, dict) else list(data)
    return await client.post(path or page, data=fields, allow_redirects=False)


async def sign_in(client: TestClient, smtp: SmtpServer, email: str) -> str:
    """Ask for a link, read it from the email, press the page's button; returns the link."""
    before = len(smtp.messages)
    response = await form_post(client, "/staff/sign-in", {"email": email})
    assert response.status == 303
    message = (await smtp.received(before + 1))[-1]
    assert message.recipients == (email,)
    path = link(message, "/staff/sign-in/")
    response = await form_post(client, path, {})
    assert response.status == 303 and response.headers["Location"] == "/staff/briefs"
    return path
