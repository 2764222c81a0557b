"""Bad input and abuse: hostile addresses, enumeration, rate limits, forged and old tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from learnhub.app import create_app
from service.settings import Settings
from service.staff import service as staff_service
from service.staff.models import Role
from tests import factories
from tests.conftest import Clock
from tests.digests.conftest import drain
from tests.smtp import SmtpServer
from tests.subscribers.conftest import link, press_button

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "a@b",
        "someone@nhs.net\r\nBcc: victim@example.org",
        "someone@nhs.net\nX-Injected: 1",
        "<script>@nhs.net",
        "a" * 320 + "@nhs.net",
        "",
    ],
)
async def test_hostile_addresses_are_422_and_send_nothing(
    web: TestClient, smtp_server: SmtpServer, email: str
) -> None:
    response = await web.post("/api/v1/subscriptions", json={"email": email})
    body = await response.json()
    assert response.status == 422, body
    assert body["error"]["details"][0]["field"] == "email"
    assert smtp_server.messages == []


async def test_unknown_codes_are_422_listing_the_valid_ones(web: TestClient) -> None:
    response = await web.post(
        "/api/v1/subscriptions", json={"email": "a@nhs.net", "themes": ["neglect", "nelgect"]}
    )
    body = await response.json()
    assert response.status == 422
    assert body["error"]["details"]["themes"]["unknown"] == ["nelgect"]
    assert "neglect" in body["error"]["details"]["themes"]["valid"]


async def test_known_and_unknown_addresses_get_identical_answers(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    def shape(response: Any, body: bytes) -> tuple[Any, ...]:
        headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Content-Length")}
        return response.status, headers, body

    await web.post("/api/v1/subscriptions", json={"email": "known@nhs.net"})
    await smtp_server.received(1)
    known = await web.post("/api/v1/subscriptions", json={"email": "known@nhs.net"})
    unknown = await web.post("/api/v1/subscriptions", json={"email": "unknown@nhs.net"})
    assert shape(known, await known.read()) == shape(unknown, await unknown.read())


async def test_rate_limits_per_address_answer_429_with_retry_after(web: TestClient) -> None:
    for _ in range(5):
        assert (await web.post("/api/v1/subscriptions", json={"email": "a@nhs.net"})).status == 202
    limited = await web.post("/api/v1/subscriptions", json={"email": "a@nhs.net"})
    assert limited.status == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert (await limited.json())["error"]["code"] == "too_many_requests"


async def test_one_confirmation_email_per_ten_minutes(
    web: TestClient, smtp_server: SmtpServer, clock: Clock
) -> None:
    for _ in range(3):
        await web.post("/api/v1/subscriptions", json={"email": "b@nhs.net"})
    clock.advance(minutes=11)
    await web.post("/api/v1/subscriptions", json={"email": "b@nhs.net"})
    received = await smtp_server.received(2)
    assert [m.recipients for m in received] == [("b@nhs.net",), ("b@nhs.net",)]


async def test_forged_expired_and_wrong_purpose_tokens_get_a_clear_page(
    web: TestClient, smtp_server: SmtpServer, clock: Clock
) -> None:
    await web.post("/api/v1/subscriptions", json={"email": "c@nhs.net"})
    confirm = link((await smtp_server.received(1))[0], "/subscriptions/confirm/")
    html = {"Accept": "text/html"}
    forged = await web.get(confirm[:-3] + "abc", headers=html)
    assert forged.status == 404 and "This link is not valid" in await forged.text()
    wrong = await web.get(confirm.replace("/confirm/", "/manage/"), headers=html)
    assert wrong.status == 404 and "not valid here" in await wrong.text()
    clock.advance(days=7, minutes=1)
    expired = await web.get(confirm, headers=html)
    assert expired.status == 404 and "This link has expired" in await expired.text()
    assert "Traceback" not in await expired.text()


async def test_a_get_on_an_email_link_changes_nothing(
    web: TestClient, smtp_server: SmtpServer, clock: Clock
) -> None:
    await web.post("/api/v1/subscriptions", json={"email": "d@nhs.net"})
    confirm = link((await smtp_server.received(1))[0], "/subscriptions/confirm/")
    for _ in range(3):
        assert (await web.get(confirm)).status == 200
    confirmed = await press_button(web, confirm)
    assert "Subscription confirmed" in await confirmed.text()
    clock.advance(days=1)
    assert (await press_button(web, confirm)).status == 200  # confirming twice is harmless


async def test_behind_trusted_proxies_each_forwarded_client_has_its_own_limit(
    aiohttp_client: Any, mail_settings: Settings, clock: Clock, engine: Any
) -> None:
    # The test client connects from 127.0.0.1: here it plays a proxy at 10.0.0.2 behind
    # another at 127.0.0.1; anything left of the first untrusted address is the client's own.
    trusted = (ip_network("127.0.0.1"), ip_network("10.0.0.0/8"))
    proxied = mail_settings.model_copy(update={"trusted_proxies": trusted})
    client = await aiohttp_client(create_app(proxied, clock=clock))

    async def ask(forwarded_for: str, email: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        body = {"email": email}
        return (await client.post("/api/v1/subscriptions", json=body, headers=headers)).status

    answers = [
        await ask(f"198.51.100.{n}, 203.0.113.5, 10.0.0.2", f"p{n}@nhs.net") for n in range(6)
    ]
    assert answers == [202] * 5 + [429]
    assert await ask("203.0.113.5, 10.0.0.2", "another@nhs.net") == 429
    assert await ask("203.0.113.6, 10.0.0.2", "another@nhs.net") == 202


async def test_an_untrusted_peer_cannot_choose_its_address(
    aiohttp_client: Any, mail_settings: Settings, clock: Clock, engine: Any
) -> None:
    proxied = mail_settings.model_copy(update={"trusted_proxies": (ip_network("10.0.0.0/8"),)})
    client = await aiohttp_client(create_app(proxied, clock=clock))
    answers = [
        (
            await client.post(
                "/api/v1/subscriptions",
                json={"email": f"p{n}@nhs.net"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
        ).status
        for n in range(6)
    ]
    assert answers == [202] * 5 + [429]
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize(
    ("path", "field", "status"),
    [
        ("/api/v1/subscriptions", None, 202),
        ("/subscribe", "form", 200),  # "Check your email", naming the address
        ("/staff/sign-in", "form", 303),
        ("/subscriptions/lost", "form", 200),
    ],
)
async def test_the_answer_does_the_same_work_for_every_address(
    aiohttp_client: Any,
    mail_settings: Settings,
    clock: Clock,
    sessions: Any,
    path: str,
    field: Any,
    status: int,
) -> None:
    """A request for an address with a recent link answered in half the time of one for a
    new address (p < 1e-7). Now the answer runs the very same statements for every address:
    new, just sent a link, subscribed, or a member of staff; the rest happens afterwards."""
    async with sessions.begin() as session:
        await factories.person(session, "known@nhs.net", "weekly", since=SINCE)
        await staff_service.create(session, email="staff@nhs.net", role=Role.publisher, now=SINCE)
    # No background work while statements are counted: the workers are driven by hand.
    web = await aiohttp_client(create_app(mail_settings, clock=clock, run_workers=False))
    await web.post("/api/v1/subscriptions", json={"email": "recent@nhs.net"})
    await drain(web.server.app)

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async def answer(email: str) -> list[str]:
        form = await web.get(path if field else "/subscribe")
        token = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
        assert token
        statements.clear()
        event.listen(Engine, "before_cursor_execute", record)
        try:
            if field:
                data = {"csrf_token": token.group(1), "email": email, "frequency": "weekly"}
                response = await web.post(path, data=data, allow_redirects=False)
            else:
                response = await web.post(path, json={"email": email})
            assert response.status == status
        finally:
            event.remove(Engine, "before_cursor_execute", record)
        return list(statements)

    seen = {email: await answer(email) for email in
            ("new@nhs.net", "recent@nhs.net", "known@nhs.net", "staff@nhs.net")}  # fmt: skip
    first = seen["new@nhs.net"]
    assert first and all(s == first for s in seen.values()), seen
