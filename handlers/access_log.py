"""The access log: one compact line a request, with every token in it cut short, written in
batches.

Links in emails carry tokens that open a subscription, a sign-in or a private feed, and
pages opened from them send the whole address again as the Referer of their assets. Logs
are read by more people, and kept longer, than the database: a token is shown by its first
characters only, enough to match a support request to a line.

A line goes through neither a ``logging.LogRecord`` nor a handler: building a record,
formatting it and writing it cost more than serving a cached feed (7 µs against the bare
handler's 30). It is formatted like every other line of ``learnhub serve`` (the format in
learnhub/cli.py), appended to a buffer, and written to standard error with the lines queued
beside it: at most 0.2 s after it was added, at once when 256 lines wait, and at exit. The
``aiohttp.access`` logger still decides whether there is an access log at all: raise its
level above INFO and no line is made.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import re
import sys
import time
from typing import TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

KEEP = 6
# Paths whose next segment is a token; a segment shorter than a token (a page's own name,
# like check-your-email) is left as it is.
_TOKENS = re.compile(
    r"(/subscriptions/(?:confirm|manage|join)/|/unsubscribe/|/staff/sign-in/"
    r"|/practitioners/sign-in/|/feeds/groups/|/api/v1/subscriptions/(?:confirm/)?"
    r"|/discussions/(?:new/)?|/acknowledge/)"
    r"([^/?#\s\"]{20,})"
)
# Every text the pattern can match holds one of these words: most are read by this alone.
_MAYBE = re.compile(r"/(?:subscriptions|unsubscribe|sign-in|groups|discussions|acknowledge)/")


def redact(text: str) -> str:
    """``text`` with the token after each token-bearing path cut to its first characters."""
    if _MAYBE.search(text) is None:
        return text
    return _TOKENS.sub(lambda m: f"{m.group(1)}{m.group(2)[:KEEP]}…", text)


class Lines:
    """Access lines waiting to be written, and the stream they go to (standard error unless
    given: it is looked up at each write, so a test's or a supervisor's replacement is used)."""

    def __init__(self, stream: TextIO | None = None, *, delay: float = 0.2, most: int = 256):
        self._stream = stream
        self._delay = delay
        self._most = most
        self._waiting: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def add(self, line: str) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:  # the date and time are formatted once a second
            self._second, self._stamp = (
                second,
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
            )
        millis = int((now - second) * 1000)
        self._waiting.append(f"{self._stamp},{millis:03d} INFO aiohttp.access: {line}\n")
        if len(self._waiting) >= self._most:
            self.write()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self._delay, self.write)
            except RuntimeError:  # no event loop (at exit): now, then
                self.write()

    def write(self) -> None:
        """Write every waiting line, now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiting:
            return
        text, self._waiting = "".join(self._waiting), []
        stream = self._stream or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed stream (at exit): nowhere left to write
            pass


lines = Lines()
atexit.register(lines.write)


class AccessLogger(AbstractAccessLogger):
    """client "METHOD path" status bytes seconds "referer" "user agent", tokens redacted; the
    path and query as the client sent them.

    aiohttp makes one of these a connection; they all write to one ``Lines``.
    """

    to = lines

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        headers = request.headers
        path = _quoted(redact(request.raw_path))
        referer = _quoted(redact(headers.get("Referer", "-")))
        agent = _quoted(headers.get("User-Agent", "-"))
        self.to.add(
            f'{request.remote} "{request.method} {path}" {response.status} '
            f'{response.body_length} {time:.4f} "{referer}" "{agent}"'
        )


def _quoted(text: str) -> str:
    """A field between double quotes that can't end early: a client's own quote is escaped,
    so nobody can add fields of their choosing to a line."""
    return text.replace('"', '\\"') if '"' in text else text


def writing_to(to: Lines) -> type[AccessLogger]:
    """An access logger class that writes to ``to`` (tests, or another stream)."""
    return type("AccessLogger", (AccessLogger,), {"to": to})
