"""The access log keeps no token whole: not in the path, not in the Referer."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import ClientSession, web

from handlers.access_log import AccessLogger, redact
from learnhub.app import create_app
from service.settings import Settings
from tests.conftest import Clock
from tests.smtp import free_port

TOKEN = "WzEsMSwibSIsbnVsbF0.awQAkA.J8fbRtSXGm1dw__xfe0qXKPYGZA"  # noqa: S105  # a shape, not a secret
RANDOM = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"


@pytest.mark.parametrize(
    "path",
    [
        f"/subscriptions/confirm/{TOKEN}",
        f"/subscriptions/manage/{TOKEN}",
        f"/subscriptions/join/{TOKEN}",
        f"/unsubscribe/{TOKEN}",
        f"/api/v1/subscriptions/{TOKEN}/export",
        f"/api/v1/subscriptions/confirm/{TOKEN}",
        f"/staff/sign-in/{RANDOM}",
        f"/practitioners/sign-in/{RANDOM}",
        f"/feeds/groups/{RANDOM}.atom",
    ],
)
def test_every_kind_of_token_is_cut_short(path: str) -> None:
    redacted = redact(f"GET {path}?x=1")
    assert TOKEN not in redacted and RANDOM not in redacted
    assert redacted.endswith("…?x=1") or "….atom" in redacted or "…/export" in redacted


def test_pages_that_are_not_tokens_keep_their_names() -> None:
    for path in ("/staff/sign-in/check-your-email", "/briefs/3f1c-uuid", "/subscribe"):
        assert redact(path) == path


async def test_the_served_log_line_has_no_token(
    settings: Settings, clock: Clock, engine: object, caplog: pytest.LogCaptureFixture
) -> None:
    # Served as `learnhub serve` serves it (web.run_app builds the same runner).
    runner = web.AppRunner(create_app(settings, clock=clock), access_log_class=AccessLogger)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with ClientSession() as http:
            caplog.set_level(logging.INFO, logger="aiohttp.access")
            referer = f"https://learnhub.example/subscriptions/manage/{TOKEN}"
            url = f"http://127.0.0.1:{port}/unsubscribe/{TOKEN}"
            async with http.get(url, headers={"Referer": referer}) as response:
                await response.read()
    finally:
        await runner.cleanup()
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines, caplog.text
    assert all(TOKEN not in line for line in lines), lines
    assert any(f"/unsubscribe/{TOKEN[:6]}…" in line for line in lines)


async def test_an_unhandled_error_logs_the_path_with_its_token_cut_short(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The error log is a log too: a 500 on a token's page must not write the token whole."""
    from handlers.errors import error_middleware

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/subscriptions/manage/{token}", broken)
    client = await aiohttp_client(app)
    token = RANDOM
    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        response = await client.get(f"/subscriptions/manage/{token}")
    assert response.status == 500
    assert f"unhandled error on GET /subscriptions/manage/{RANDOM[:6]}…" in caplog.text
    assert token not in caplog.text
