"""An app whose mail goes to a real SMTP server, with its workers running."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from learnhub.app import create_app
from service.settings import Settings
from tests.conftest import Clock
from tests.smtp import Received, SmtpServer, smtp_server

__all__ = ["smtp_server"]
BASE = "http://127.0.0.1:8080"


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SmtpServer, tmp_path: Path) -> Settings:
    # Plain http on loopback, so that the test client keeps the CSRF cookie.
    smtp = SecretStr(smtp_server.url)
    return settings.model_copy(update={"smtp_url": smtp, "base_url": BASE})


@pytest.fixture
async def web(
    aiohttp_client: Any, mail_settings: Settings, clock: Clock, engine: Any
) -> TestClient:
    return await aiohttp_client(create_app(mail_settings, clock=clock))  # type: ignore[no-any-return]


def link(message: Received, path: str) -> str:
    """The path of the first link to ``path`` in the message's text part."""
    text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(re.escape(BASE + path) + r"\S+", text)
    assert found, f"no {path} link in:\n{text}"
    return found.group(0).removeprefix(BASE)


async def press_button(client: TestClient, path: str) -> Any:
    """Open a page from an email, then press its button, as a person would."""
    page = await client.get(path)
    assert page.status == 200, await page.text()
    html = await page.text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, html
    return await client.post(path, data={"csrf_token": token.group(1)})
