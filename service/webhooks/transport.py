"""One delivery attempt: an HTTP POST to checked addresses only, bounded in time and size.

httpcore (the transport under httpx) does the HTTP, with a network backend of our own
that resolves the host at each new connection, checks every address (``addresses``) and
connects to those it checked, never to a name resolved again behind our back. It follows
no redirects (a 3xx is a failed attempt: the spec asks partners to register the final
URL), reads no proxy settings from the environment, and reads at most ``READ_AT_MOST``
bytes of an answer, of which the start is kept for the admins.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpcore

from service.webhooks.addresses import Refused, check, parse, resolve

TIMEOUT = 15.0  # per attempt, everything included; the spec recommends 15 to 30 s
READ_AT_MOST = 8 * 1024
EXCERPT = 300  # characters of an answer kept on the delivery
MAX_RETRY_AFTER = 24 * 3600.0
USER_AGENT = "Learnhub-Webhooks/1.0"
# Characters a request target keeps as they are; others (spaces, letters beyond ASCII) are
# percent-encoded, and so is nothing already encoded.
_SAFE = "/?&=%:@!$'()*+,;-._~"


@dataclass(frozen=True)
class Answer:
    """What an attempt came to: the status if the endpoint answered, else why not."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None  # seconds the endpoint asked us to wait (429, 503)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects only to addresses checked at the moment of connecting."""

    def __init__(self, *, allow_private: bool, lookup_timeout: float = TIMEOUT) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private
        self._lookup_timeout = lookup_timeout

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port, within=timeout or self._lookup_timeout)
        check(host, addresses, allow_private=self._allow_private)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # each checked above
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent to local sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class Transport:
    """A pool of connections to partners' endpoints, kept alive between deliveries."""

    def __init__(self, *, allow_private: bool, max_connections: int = 20) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=max_connections,
            keepalive_expiry=30.0,
            retries=0,
            network_backend=PublicOnly(allow_private=allow_private),
        )

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, within: float = TIMEOUT
    ) -> Answer:
        """POST ``body``; never raises for what the endpoint or the network did."""
        if within <= 0:
            return Answer(None, "not tried: the worker's lease was running out")
        try:
            request_url, host = _request_url(url)
            sent = [("Host", host), ("User-Agent", USER_AGENT), *headers.items()]
            limits = {"connect": within, "read": within, "write": within, "pool": within}
            async with (
                asyncio.timeout(within),
                self._pool.stream(
                    "POST",
                    request_url,
                    headers=sent,
                    content=body,
                    extensions={"timeout": limits},
                ) as response,
            ):
                start = await _read_some(response)
                return _answer(response.status, response.headers, start)
        except Refused as exc:
            return Answer(None, f"refused: {exc}")
        except (TimeoutError, httpcore.TimeoutException):
            return Answer(None, f"no answer within {within:g} s")
        except (httpcore.ConnectError, OSError) as exc:
            return Answer(None, f"cannot connect: {exc or type(exc).__name__}")
        except (httpcore.NetworkError, httpcore.ProtocolError, ssl.SSLError) as exc:
            return Answer(None, f"the connection failed: {exc or type(exc).__name__}")

    async def close(self) -> None:
        await self._pool.aclose()


def _request_url(url: str) -> tuple[httpcore.URL, str]:
    """The URL as httpcore takes it, and the Host header: the host in its IDNA form, the
    path and query percent-encoded where they hold other characters."""
    target = parse(url)
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe=_SAFE) + (
        "?" + quote(parts.query, safe=_SAFE) if parts.query else ""
    )
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    header = host if target.port == default else f"{host}:{target.port}"
    request_url = httpcore.URL(
        scheme=target.scheme.encode(),
        host=target.host.encode(),
        port=target.port,
        target=path.encode("ascii"),
    )
    return request_url, header


async def _read_some(response: httpcore.Response) -> bytes:
    """At most READ_AT_MOST bytes of the body: an endpoint that answers with a film is
    cut off (the connection is then closed, not reused)."""
    read = b""
    stream = response.aiter_stream()
    try:
        async for chunk in stream:
            read += chunk
            if len(read) >= READ_AT_MOST:
                break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]  # an async generator
    return read[:READ_AT_MOST]


def _answer(status: int, headers: list[tuple[bytes, bytes]], start: bytes) -> Answer:
    if 200 <= status < 300:
        return Answer(status)
    named = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
    text = " ".join(start.decode("utf-8", "replace").split())
    if 300 <= status < 400:
        where = named.get("location", "")
        error = f"HTTP {status}: redirects are not followed; register the final URL ({where})"
    else:
        error = f"HTTP {status}" + (f": {text}" if text else "")
    return Answer(status, error[:EXCERPT], _retry_after(named.get("retry-after")))


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (its HTTP-date form is not read)."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), MAX_RETRY_AFTER)
