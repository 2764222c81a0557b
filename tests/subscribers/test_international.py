"""Internationalised addresses: domains go out in IDNA form; a local part beyond ASCII goes
out only with SMTPUTF8, and otherwise fails its own row with a reason, once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.mail.compose import Composer
from service.mail.senders import PermanentFailure, SmtpSender
from tests.smtp import SmtpServer

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FROM = "learning@localhost"


@pytest.fixture
def utf8_server() -> Iterator[SmtpServer]:
    server = SmtpServer(smtputf8=True)
    server.start()
    yield server
    server.stop()


def message(recipient: str) -> bytes:
    composer = Composer(mail_from=f"Learning Hub <{FROM}>", base_url="https://learnhub.example")
    context = {"subject": "Hello", "heading": "Hello", "paragraphs": ["Hi."]}
    return composer.compose("test", recipient, context, now=NOW).message


async def test_an_international_domain_goes_out_in_idna_form(smtp_server: SmtpServer) -> None:
    sender = SmtpSender.from_url(smtp_server.url)
    try:
        await sender.send(
            message("someone@exämple.org"), sender=FROM, recipient="someone@exämple.org"
        )
    finally:
        await sender.close()
    (received,) = smtp_server.messages
    assert received.recipients == ("someone@xn--exmple-cua.org",)


async def test_a_local_part_beyond_ascii_needs_smtputf8(
    smtp_server: SmtpServer, utf8_server: SmtpServer
) -> None:
    plain = SmtpSender.from_url(smtp_server.url)
    try:
        with pytest.raises(PermanentFailure, match="SMTPUTF8"):
            await plain.send(message("jörg@example.org"), sender=FROM, recipient="jörg@example.org")
    finally:
        await plain.close()
    assert smtp_server.messages == []
    utf8 = SmtpSender.from_url(utf8_server.url)
    try:
        await utf8.send(message("jörg@example.org"), sender=FROM, recipient="jörg@example.org")
    finally:
        await utf8.close()
    assert utf8_server.messages[0].recipients == ("jörg@example.org",)


async def test_subscribing_takes_international_domains_and_says_what_it_refuses(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    body: dict[str, Any] = {"email": "Someone@Exämple.org", "frequency": "weekly", "themes": [],
                            "agencies": [], "boroughs": []}  # fmt: skip
    assert (await web.post("/api/v1/subscriptions", json=body)).status == 202
    (confirmation,) = await smtp_server.received(1)
    assert confirmation.recipients == ("someone@xn--exmple-cua.org",)
    refused = await web.post("/api/v1/subscriptions", json={**body, "email": "jörg@example.org"})
    assert refused.status == 422
    error = (await refused.json())["error"]
    assert "before the @" in str(error["details"]) and "email" in str(error["details"])


async def test_the_form_says_which_addresses_it_cannot_take(web: TestClient) -> None:
    page = await web.get("/subscribe")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token
    data = {"csrf_token": token.group(1), "email": "jörg@example.org", "frequency": "weekly"}
    refused = await web.post("/subscribe", data=data)
    assert refused.status == 422
    assert "only the letters A to Z, digits and . _ - + before the @" in await refused.text()
