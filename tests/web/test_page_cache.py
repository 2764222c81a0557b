"""Public pages from the content cache: the audiences kept apart, every change shown, and
revalidation (ETag, 304, gzip)."""

from __future__ import annotations

import asyncio
import gzip
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers.page_cache import page_cache_key
from learnhub.app import create_app
from service.settings import Settings
from tests.conftest import Clock
from tests.waiting import until
from tests.web.helpers import HTML, csrf, practitioner_cookie, publish
from tests.web.test_site import NEGLECT, SECRET, titles

SECRET_WORDS = ("Walrus", "narwhal", "Oyster", "Seahorse", "Child W")
# Every cached page: home, its filters and search, a brief, its briefing, the taxonomy.
PAGES = (
    "/",
    "/?theme=neglect",
    "/?q=walrus",
    "/?q=neglect&borough=knowsley",
    "/taxonomy/themes",
    "/taxonomy/boroughs",
)


@pytest.fixture
async def quiet(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: AsyncEngine
) -> TestClient:
    """An app that runs no dispatcher: only its own handlers and the version tell its cache."""
    return await aiohttp_client(create_app(settings, clock=clock, run_workers=False))


@pytest.fixture
async def other(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: AsyncEngine
) -> TestClient:
    """Another instance on the same database, with a cache of its own."""
    return await aiohttp_client(create_app(settings, clock=clock, run_workers=False))


def anonymous(client: TestClient) -> dict[str, str]:
    """Headers of a visitor who is not signed in (the client's jar forgets its cookies)."""
    client.session.cookie_jar.clear()
    return HTML


@pytest.mark.parametrize("practitioner_first", [True, False])
async def test_an_anonymous_visitor_never_gets_restricted_learning(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    practitioner_first: bool,
) -> None:
    await publish(client, publisher, **NEGLECT)
    secret = await publish(client, publisher, **SECRET)
    reader = await practitioner_cookie(sessions, "gp@nhs.net", clock.now)
    for path in (*PAGES, f"/briefs/{secret}", f"/briefs/{secret}/briefing"):
        for _ in range(2):  # the second of each from the cache
            if practitioner_first:
                signed_in = await client.get(path, headers=reader)
            visitor = await client.get(path, headers=anonymous(client))
            if not practitioner_first:
                signed_in = await client.get(path, headers=reader)
            html = await visitor.text()
            for word in (*SECRET_WORDS, "Signed in as", "gp@nhs.net", 'name="csrf_token"'):
                assert word not in html, (path, word)
            assert "Set-Cookie" not in visitor.headers, path
            assert signed_in.status == 200, path
            assert signed_in.headers["Cache-Control"] == "private, no-store"
            assert "Signed in as gp@nhs.net" in await signed_in.text()
        if path.startswith("/briefs/"):
            assert visitor.status == 403
            assert "Walrus tusks" in await signed_in.text()
        else:
            assert visitor.status == 200
    # The counts are the audience's too.
    themes = await (await client.get("/taxonomy/themes", headers=anonymous(client))).text()
    assert "1 brief<span" in themes
    themes = await (await client.get("/taxonomy/themes", headers=reader)).text()
    assert "2 briefs<span" in themes


async def test_one_practitioners_page_never_reaches_another(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    secret = await publish(client, publisher, **SECRET)
    first = await practitioner_cookie(sessions, "first@nhs.net", clock.now)
    second = await practitioner_cookie(sessions, "second@merseyside.police.uk", clock.now)
    for path in (*PAGES, f"/briefs/{secret}"):
        client.session.cookie_jar.clear()
        mine = await client.get(path, headers=first)
        my_html, my_csrf = await mine.text(), mine.cookies["lh_csrf"].value
        client.session.cookie_jar.clear()
        theirs = await client.get(path, headers=second)
        their_html = await theirs.text()
        assert "Signed in as first@nhs.net" in my_html
        assert "Signed in as second@merseyside.police.uk" in their_html
        assert "first@nhs.net" not in their_html, path
        for html in (my_html, their_html):  # every placeholder filled in
            assert "lh-who-" not in html and "lh-token-" not in html
        assert csrf(my_html) != csrf(their_html)
        assert mine.headers["ETag"] != theirs.headers["ETag"]
        for response in (mine, theirs):
            assert response.headers["Cache-Control"] == "private, no-store"
        # The token filled into the cached page is the person's own: it signs them out.
        out = await client.post(
            "/practitioners/sign-out",
            data={"csrf_token": csrf(my_html)},
            headers={**first, "Cookie": f"{first['Cookie']}; lh_csrf={my_csrf}"},
            allow_redirects=False,
        )
        assert out.status == 303
        first = await practitioner_cookie(sessions, "first@nhs.net", clock.now)


async def test_a_withdrawn_brief_leaves_every_cached_page_once_the_withdrawal_is_handled(
    quiet: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    kept = await publish(quiet, publisher, **NEGLECT)
    gone = await publish(quiet, publisher, **{**NEGLECT, "title": "Neglect: Family G"})
    for path in PAGES[:2]:
        assert "Neglect: Family G" in await (await quiet.get(path, headers=HTML)).text()
    assert (await quiet.get(f"/briefs/{gone}", headers=HTML)).status == 200
    response = await quiet.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher)
    assert response.status == 200
    # The same second, no dispatcher running: the handler's own commit empties the cache.
    for path in PAGES[:2]:
        html = await (await quiet.get(path, headers=HTML)).text()
        assert titles(html) == ["Neglect in Knowsley: the Smith children"], path
    assert (await quiet.get(f"/briefs/{gone}", headers=HTML)).status == 410
    assert (await quiet.get(f"/briefs/{kept}", headers=HTML)).status == 200


async def test_another_instances_withdrawal_and_publication_are_seen_within_a_second(
    quiet: TestClient, other: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    gone = await publish(quiet, publisher, **NEGLECT)
    assert titles(await (await quiet.get("/", headers=HTML)).text()) == [NEGLECT["title"]]
    await other.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher)
    new = await publish(other, publisher, title="Hidden males")
    # Within the second this instance may still show what it rendered...
    assert titles(await (await quiet.get("/", headers=HTML)).text()) == [NEGLECT["title"]]
    clock.advance(seconds=1)
    # ...and then it reads the newest event id again.
    assert titles(await (await quiet.get("/", headers=HTML)).text()) == ["Hidden males"]
    assert (await quiet.get(f"/briefs/{gone}", headers=HTML)).status == 410
    assert (await quiet.get(f"/briefs/{new}", headers=HTML)).status == 200


async def test_on_postgresql_another_instances_change_is_seen_at_its_notify(
    client: TestClient,
    aiohttp_client: Any,
    settings: Settings,
    publisher: dict[str, str],
    clock: Clock,
) -> None:
    """Both instances run their dispatchers: the event's NOTIFY wakes the other one, which
    empties its page cache, with no second passing on the clock."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    listening = await aiohttp_client(create_app(settings, clock=clock))
    await publish(client, publisher, **NEGLECT)
    assert await _titles(listening) == [NEGLECT["title"]]
    await publish(client, publisher, title="Hidden males")

    async def seen() -> bool:
        # Both published in the same instant of the test's clock: in either order.
        return set(await _titles(listening)) == {"Hidden males", NEGLECT["title"]}

    await until(seen, within=10, what="the other instance's publication seen through NOTIFY")


async def _titles(client: TestClient) -> list[str]:
    return titles(await (await client.get("/", headers=HTML)).text())


async def test_a_published_brief_is_on_home_at_once(
    quiet: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    for path in PAGES:
        assert (await quiet.get(path, headers=HTML)).status == 200
    brief_id = await publish(quiet, publisher, **NEGLECT)
    for path in ("/", "/?theme=neglect", "/?q=neglect&borough=knowsley"):
        html = await (await quiet.get(path, headers=HTML)).text()
        assert titles(html) == [NEGLECT["title"]], path
    assert (await quiet.get(f"/briefs/{brief_id}", headers=HTML)).status == 200
    html = await (await quiet.get("/taxonomy/themes", headers=HTML)).text()
    assert re.search(r'href="/\?theme=neglect">1 brief<span', html)


async def test_revalidation_answers_304_and_gzip_is_made_once(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    brief_id = await publish(client, publisher, **NEGLECT)
    for path in (*PAGES, f"/briefs/{brief_id}", f"/briefs/{brief_id}/briefing"):
        plain = await client.get(path, headers={**HTML, "Accept-Encoding": "identity"})
        body, etag = await plain.read(), plain.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag), path
        assert plain.headers["Cache-Control"] == "no-cache"
        assert plain.headers["Vary"] == "Accept-Encoding"
        assert plain.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Content-Encoding" not in plain.headers

        packed = await client.get(
            path, headers={**HTML, "Accept-Encoding": "gzip"}, auto_decompress=False
        )
        assert packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await packed.read()) == body
        gzip_etag = packed.headers["ETag"]
        assert gzip_etag == etag[:-1] + '-gzip"'

        for sent in (etag, gzip_etag, f'"other", W/{etag}', "*"):
            again = await client.get(path, headers={**HTML, "If-None-Match": sent})
            assert again.status == 304, (path, sent)
            assert await again.read() == b""
            assert again.headers["ETag"] in (etag, gzip_etag)
            assert again.headers["Cache-Control"] == "no-cache"
            assert "Set-Cookie" not in again.headers
        assert (await client.get(path, headers={"If-None-Match": '"stale"'})).status == 200

    before = (await client.get("/", headers={"Accept-Encoding": "identity"})).headers["ETag"]
    await publish(client, publisher, title="Hidden males")
    after = await client.get("/", headers={"If-None-Match": before})
    assert after.status == 200 and "Hidden males" in await after.text()


async def test_a_practitioner_revalidates_their_own_page_only(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    await publish(client, publisher, **SECRET)
    first = await practitioner_cookie(sessions, "first@nhs.net", clock.now)
    second = await practitioner_cookie(sessions, "second@nhs.net", clock.now)
    client.session.cookie_jar.clear()
    mine = await client.get("/", headers=first)
    etag, my_csrf = mine.headers["ETag"], mine.cookies["lh_csrf"].value
    first = {**first, "Cookie": f"{first['Cookie']}; lh_csrf={my_csrf}"}
    again = await client.get("/", headers={**first, "If-None-Match": etag})
    assert again.status == 304
    assert again.headers["Cache-Control"] == "private, no-store"
    # The anonymous page's tag and another person's never stand for this person's page.
    visitor = (await client.get("/", headers=anonymous(client))).headers["ETag"]
    for sent in (etag, visitor):
        cookies = f"{second['Cookie']}; lh_csrf={my_csrf}"
        theirs = await client.get("/", headers={**HTML, "Cookie": cookies, "If-None-Match": sent})
        assert theirs.status == 200
        assert "Signed in as second@nhs.net" in await theirs.text()
    stranger = await client.get("/", headers={**anonymous(client), "If-None-Match": etag})
    assert stranger.status == 200


async def test_each_page_is_rendered_once_per_change(
    quiet: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(quiet, publisher, **NEGLECT)
    cache = quiet.app[page_cache_key]
    before = cache.renders
    responses = await asyncio.gather(*(quiet.get("/?q=neglect", headers=HTML) for _ in range(10)))
    assert {r.status for r in responses} == {200}
    assert cache.renders == before + 1
    # The same page whatever order its filters came in, or what else its address carries.
    for path in ("/?q=neglect&utm_source=email", "/?q=+neglect+&page=1"):
        assert (await quiet.get(path, headers=HTML)).status == 200
    assert cache.renders == before + 1


async def test_a_cached_page_that_ends_a_session_is_kept_by_no_shared_cache(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    """A visitor whose session has ended gets the shared page with a Set-Cookie that deletes
    their cookie: a proxy that kept it would sign everyone else out."""
    await publish(client, publisher, **NEGLECT)
    ended = await practitioner_cookie(sessions, "gp@nhs.net", clock.now)
    clock.advance(days=31)
    client.session.cookie_jar.clear()
    response = await client.get("/", headers=ended)
    assert response.status == 200
    assert "Signed in as" not in await response.text()
    assert response.cookies["lh_practitioner"].value == ""
    assert response.headers["Cache-Control"] == "private, no-store"
    again = await client.get("/", headers=anonymous(client))
    assert again.headers["Cache-Control"] == "no-cache" and "Set-Cookie" not in again.headers
