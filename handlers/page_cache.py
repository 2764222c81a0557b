"""Public pages rendered once per change and served from the content cache (service/cache.py),
with strong ETags, 304s and gzip made once.

Each page has two variants, and a reader only ever gets their own audience's:

- everyone not signed in shares one, which shows public briefs only and carries nothing
  personal (no form, so no CSRF token, and no cookie);
- signed-in practitioners share another, which shows restricted briefs too. It is rendered
  once with two placeholders where the masthead names the person and carries their sign-out
  form's CSRF token, and those are filled in for each request; its ETag is derived from the
  variant's and from both values, so one person's tag never stands for another's page.

The placeholders are random for each process, so no brief can contain them.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import escape

from handlers import csrf
from handlers.feeds import accepts_gzip
from handlers.pages import context_for
from handlers.reader import practitioner, sign_in_link
from learnhub.keys import readonly_key
from service.cache import ContentCache
from service.clock import Clock
from service.feeds.service import read_version

WHO = "lh-who-" + secrets.token_hex(16)
TOKEN = "lh-token-" + secrets.token_hex(16)
CONTENT_TYPE = "text/html; charset=utf-8"
# Anyone may store a public page, but must ask again before using it: a 304 costs us little,
# and a withdrawn brief must not linger in a browser's or a proxy's copy.
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Page:
    """What a handler decided to show: a template, its context, the status, and whether the
    answer follows from the events alone (a withdrawn brief's 410 does not: restoring it to
    a draft writes no event, and must hide its title at once)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    keep: bool = True


@dataclass(frozen=True)
class RenderedPage:
    status: int
    body: bytes
    etag: str
    gzipped: bytes | None  # the shared variant's only: the other differs for each person
    gzip_etag: str
    keep: bool


class Queries(dict[str, object]):
    """Query strings already read into what they ask for, so that a cached page costs no
    parsing: people share the same few addresses (home, a theme, a search from an email)."""

    limit = 1024

    def put(self, query_string: str, asked: object) -> None:
        if len(self) >= self.limit:
            self.clear()
        self[query_string] = asked


class PageCache(ContentCache[RenderedPage]):
    """Rendered public pages by page and audience, valid for one content version."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock, max_entries=512, keep=lambda page: page.keep)
        self.queries = Queries()


page_cache_key = web.AppKey("page_cache", PageCache)
Build = Callable[[bool], Awaitable[Page]]


async def serve(request: web.Request, key: Hashable, path: str, build: Build) -> web.Response:
    """The page at ``path`` (its canonical address: sign-in returns there) for this reader,
    from the cache, or built by ``build(signed_in)`` and rendered first."""
    app = request.app
    email = practitioner(request)
    signed_in = email is not None
    cache = app[page_cache_key]
    page = cache.peek((key, signed_in))
    if page is None:

        async def render() -> RenderedPage:
            return rendered(request, await build(signed_in), path, signed_in=signed_in)

        page = await cache.get((key, signed_in), version=lambda: _version(app), render=render)
    return respond(request, page, email)


async def _version(app: web.Application) -> int:
    async with app[readonly_key]() as session:
        return await read_version(session)


class _NoToken:
    """Stands for the CSRF token in the shared variant: writing it would put one visitor's
    token (and cookie) on everyone's page, so a form there fails loudly instead."""

    def __str__(self) -> str:
        raise RuntimeError("a page cached for everyone can't carry a form's CSRF token")

    __html__ = __str__


def rendered(request: web.Request, page: Page, path: str, *, signed_in: bool) -> RenderedPage:
    """The page's bytes for an audience; nothing in them comes from the request but what
    the key holds (the path)."""
    context = {
        **context_for(request),
        "practitioner": WHO if signed_in else None,
        "csrf_token": TOKEN if signed_in else _NoToken(),
        "sign_in_url": sign_in_link(path),
        **page.context,
    }
    body = aiohttp_jinja2.render_string(page.template, request, context).encode()
    digest = hashlib.sha256(body).hexdigest()[:32]
    packed = None if signed_in else gzip.compress(body, compresslevel=6, mtime=0)
    return RenderedPage(page.status, body, f'"{digest}"', packed, f'"{digest}-gzip"', page.keep)


def respond(request: web.Request, page: RenderedPage, email: str | None) -> web.Response:
    """200 with the bytes, or 304 when the reader's copy is current; other answers (a 403
    for restricted learning) carry no validator."""
    if email is not None:
        return _personal(request, page, email)
    headers = {"Content-Type": CONTENT_TYPE}
    if page.status != 200:
        return web.Response(status=page.status, body=page.body, headers=headers)
    packed = page.gzipped is not None and accepts_gzip(request)
    etag = page.gzip_etag if packed else page.etag
    headers.update({"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"})
    if _matches(request, page.etag, page.gzip_etag):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    if packed:
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=page.gzipped, headers=headers)
    return web.Response(body=page.body, headers=headers)


def _personal(request: web.Request, page: RenderedPage, email: str) -> web.Response:
    """The practitioners' variant with this person's address and token filled in (the
    reader's hook makes it ``private, no-store``)."""
    token = csrf.token(request)
    headers = {"Content-Type": CONTENT_TYPE}
    if page.status == 200:
        mine = hashlib.sha256(f"{page.etag}\n{email}\n{token}".encode()).hexdigest()[:32]
        headers["ETag"] = f'"{mine}"'
        if _matches(request, headers["ETag"]):
            del headers["Content-Type"]
            return web.Response(status=304, headers=headers)
    body = page.body.replace(WHO.encode(), str(escape(email)).encode())
    body = body.replace(TOKEN.encode(), token.encode())
    return web.Response(status=page.status, body=body, headers=headers)


def _matches(request: web.Request, *etags: str) -> bool:
    """If-None-Match, compared weakly as RFC 9110 13.1.2 says (``*``, lists, ``W/``)."""
    sent = request.headers.get("If-None-Match")
    if sent is None:
        return False
    if sent in etags:  # what a browser sends back: no list to parse
        return True
    current = {tag.strip('"') for tag in etags} | {"*"}
    return any(tag.value in current for tag in request.if_none_match or ())
