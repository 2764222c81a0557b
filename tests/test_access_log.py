"""The access log keeps no token whole: not in the path, not in the Referer."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import Any

import pytest
from aiohttp import ClientSession, web

from handlers.access_log import Lines, redact, writing_to
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


@pytest.fixture(autouse=True)
def access_log_on() -> Any:
    """As `learnhub serve` configures logging: INFO and above."""
    access = logging.getLogger("aiohttp.access")
    level = access.level
    access.setLevel(logging.INFO)
    yield
    access.setLevel(level)


async def served(
    settings: Settings, clock: Clock, to: Lines, *paths: str, headers: dict[str, str] | None = None
) -> None:
    """GET each path from the app served as `learnhub serve` serves it (web.run_app builds
    the same runner), its access log going to ``to``."""
    runner = web.AppRunner(create_app(settings, clock=clock), access_log_class=writing_to(to))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with ClientSession() as http:
            for path in paths:
                async with http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as response:
                    await response.read()
    finally:
        await runner.cleanup()


async def written(stream: io.StringIO) -> str:
    """What the stream holds once its lines' moment has passed."""
    for _ in range(100):
        if stream.getvalue():
            return stream.getvalue()
        await asyncio.sleep(0.01)
    return stream.getvalue()


async def test_the_served_log_line_has_no_token(
    settings: Settings, clock: Clock, engine: object
) -> None:
    stream = io.StringIO()
    referer = f"https://learnhub.example/subscriptions/manage/{TOKEN}"
    await served(
        settings, clock, Lines(stream), f"/unsubscribe/{TOKEN}", headers={"Referer": referer}
    )
    text = await written(stream)
    assert text, "no access line was written"
    assert TOKEN not in text, text
    assert f"/unsubscribe/{TOKEN[:6]}…" in text
    assert f"/subscriptions/manage/{TOKEN[:6]}…" in text


async def test_lines_look_like_the_rest_of_the_log_and_wait_at_most_a_moment(
    settings: Settings, clock: Clock, engine: object
) -> None:
    stream = io.StringIO()
    to = Lines(stream, delay=0.05)
    await served(settings, clock, to, "/healthz", "/nowhere", headers={"User-Agent": "probe/1"})
    # The runner is gone and the lines are written by the timer, not by a final write.
    lines = (await written(stream)).splitlines()
    assert len(lines) == 2, lines
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"  # as %(asctime)s writes it
    assert re.fullmatch(
        stamp + r' INFO aiohttp\.access: 127\.0\.0\.1 "GET /healthz" 200 \d+ [\d.]+ "-" "probe/1"',
        lines[0],
    ), lines[0]
    assert '"GET /nowhere" 404 ' in lines[1]


def test_a_full_buffer_is_written_at_once_and_nothing_waits_without_a_loop() -> None:
    stream = io.StringIO()
    to = Lines(stream, delay=60, most=3)
    to.add("one")  # no running loop: written now, not left waiting
    assert stream.getvalue().endswith("one\n")


async def test_lines_wait_until_there_are_enough_or_the_moment_has_passed() -> None:
    stream = io.StringIO()
    to = Lines(stream, delay=60, most=3)
    to.add("one")
    to.add("two")
    assert stream.getvalue() == ""
    to.add("three")
    assert [line.rsplit(" ", 1)[1] for line in stream.getvalue().splitlines()] == [
        "one",
        "two",
        "three",
    ]


async def test_no_access_log_when_its_logger_is_above_info(
    settings: Settings, clock: Clock, engine: object
) -> None:
    stream = io.StringIO()
    access = logging.getLogger("aiohttp.access")
    level = access.level
    access.setLevel(logging.WARNING)
    try:
        await served(settings, clock, Lines(stream, delay=0), "/healthz")
    finally:
        access.setLevel(level)
    assert stream.getvalue() == ""


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


async def test_a_clients_quotes_cannot_add_fields_to_its_line(
    settings: Settings, clock: Clock, engine: object
) -> None:
    stream = io.StringIO()
    agent = 'probe" 500 0 0.0001 "https://elsewhere.example" "forged'
    await served(settings, clock, Lines(stream, delay=0), "/healthz", headers={"User-Agent": agent})
    [line] = (await written(stream)).splitlines()
    assert line.endswith('"-" "probe\\" 500 0 0.0001 \\"https://elsewhere.example\\" \\"forged"')
