"""Where webhooks may go: the address rule, and its check at every send (DNS rebinding)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.keys import webhook_worker_key
from service.webhooks.addresses import Refused, is_public, parse
from service.webhooks.models import WebhookEndpoint
from service.webhooks.transport import Transport
from tests.webhooks.conftest import Receiver, deliveries, drain, publish, register


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2a00:1450:4009:81f::200e", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.0.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("0.0.0.0", False),  # noqa: S104  # an address to refuse, not one to bind
        ("255.255.255.255", False),
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fec0::1", False),  # site-local
        ("fd12:3456::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("2002:808:808::", True),  # 6to4 of 8.8.8.8
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::808:808", False),  # NAT64 at all: reserved (::/8)
    ],
)
def test_the_address_rule(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_urls_must_be_http_with_a_host_and_no_credentials() -> None:
    target = parse("HTTPS://Hooks.Partner.Example/path?x=1")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.partner.example", 443)
    assert parse("http://bücher.example:8080/").host == "xn--bcher-kva.example"
    for bad in [
        "file:///etc/passwd",
        "gopher://x/",
        "https://",
        "https://a:b@host/",
        "http://h/#x",
    ]:
        with pytest.raises(Refused):
            parse(bad)


async def test_without_the_setting_a_loopback_url_is_refused_at_send_time(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Registered while allowed (or a name that resolved elsewhere then): the send checks again.
    endpoint = await register(hooks, admin, receiver.url("/hook"))
    app = hooks.server.app
    assert app is not None
    worker = app[webhook_worker_key]
    closed = worker.transport
    worker.transport = Transport(allow_private=False)
    try:
        await publish(hooks, publisher)
        await drain(hooks)
    finally:
        await worker.transport.close()
        worker.transport = closed
    assert receiver.got == []  # no request ever reached it
    [delivery] = await deliveries(hooks, admin, endpoint["id"])
    assert delivery["status"] == "pending" and delivery["response_status"] is None
    assert delivery["last_error"].startswith("refused: 127.0.0.1: webhooks go to public")
    async with sessions() as session:
        stored = await session.get(WebhookEndpoint, endpoint["id"])
        assert stored is not None and stored.failing_since is not None


async def test_a_name_is_resolved_and_checked_at_each_connection(receiver: Receiver) -> None:
    url = receiver.url("/hook").replace("127.0.0.1", "localhost")
    strict, lax = Transport(allow_private=False), Transport(allow_private=True)
    try:
        refused = await strict.post(url, b"{}", {"Content-Type": "application/json"})
        sent = await lax.post(url, b"{}", {"Content-Type": "application/json"})
    finally:
        await strict.close()
        await lax.close()
    assert refused.status is None and refused.error is not None
    assert "localhost resolves to 127.0.0.1" in refused.error
    assert sent.delivered and [g.path for g in receiver.got] == ["/hook"]


async def test_a_slow_or_oversized_answer_is_bounded(aiohttp_server: Any) -> None:
    import asyncio

    from aiohttp import web

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=500)
        await response.prepare(request)
        for _ in range(2000):  # 64 MB, if anyone read it all
            await response.write(b"x" * 32768)
        return response

    app = web.Application()
    app.router.add_post("/slow", slow)
    app.router.add_post("/huge", huge)
    server = await aiohttp_server(app, host="127.0.0.1")
    transport = Transport(allow_private=True)
    try:
        late = await transport.post(f"http://127.0.0.1:{server.port}/slow", b"{}", {}, within=0.3)
        big = await transport.post(f"http://127.0.0.1:{server.port}/huge", b"{}", {}, within=5)
    finally:
        await transport.close()
    assert (late.status, late.error) == (None, "no answer within 0.3 s")
    assert big.status == 500 and big.error is not None and len(big.error) <= 300
