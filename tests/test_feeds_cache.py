"""Feed caching: validators and 304s, and a feed that follows every change to its briefs."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from learnhub.app import create_app
from learnhub.keys import dispatcher_key, feed_cache_key
from service.feeds.cache import FeedCache, RenderedFeed
from service.settings import Settings
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.test_feeds import fetch, publish, urn


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip, deflate", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("identity", False),
        ("gzip;q=0", False),
        ("*;q=0, gzip", True),
        ("", False),
    ],
)
async def test_feeds_are_gzipped_for_clients_that_take_gzip(
    client: TestClient, publisher: dict[str, str], clock: Clock, accept: str, gzipped: bool
) -> None:
    await publish(client, publisher, clock)
    response = await client.get(
        "/feeds/briefs.atom", headers={"Accept-Encoding": accept}, auto_decompress=False
    )
    raw = await response.read()
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers.get("Content-Encoding") == ("gzip" if gzipped else None)
    body = gzip.decompress(raw) if gzipped else raw
    assert feedparser.parse(body).entries[0].title.endswith("learning from Baby T")
    if gzipped:
        assert len(raw) < len(body) / 2
    # Either encoding's ETag answers 304: both stand for the same content.
    etag = response.headers["ETag"]
    for other in ("identity", "gzip"):
        again = await client.get(
            "/feeds/briefs.atom", headers={"Accept-Encoding": other, "If-None-Match": etag}
        )
        assert again.status == 304


async def test_both_validators_give_304(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(client, publisher, clock)
    for fmt in ("atom", "rss"):
        first = await client.get(f"/feeds/briefs.{fmt}")
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert modified == "Mon, 23 Nov 2026 09:01:00 GMT"

        by_etag = await client.get(f"/feeds/briefs.{fmt}", headers={"If-None-Match": etag})
        assert by_etag.status == 304
        assert by_etag.headers["ETag"] == etag
        assert by_etag.headers["Cache-Control"] == "public, max-age=300"
        assert await by_etag.read() == b""
        listed = await client.get(
            f"/feeds/briefs.{fmt}", headers={"If-None-Match": f'"other", W/{etag}'}
        )
        assert listed.status == 304

        by_date = await client.get(f"/feeds/briefs.{fmt}", headers={"If-Modified-Since": modified})
        assert by_date.status == 304
        older = {"If-Modified-Since": "Mon, 23 Nov 2026 09:00:59 GMT"}
        assert (await client.get(f"/feeds/briefs.{fmt}", headers=older)).status == 200
        # If-None-Match wins over If-Modified-Since when both are sent.
        both = {"If-None-Match": '"stale"', "If-Modified-Since": modified}
        assert (await client.get(f"/feeds/briefs.{fmt}", headers=both)).status == 200


async def test_the_same_content_gives_the_same_bytes(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(client, publisher, clock)
    first = await (await client.get("/feeds/briefs.atom")).read()
    client.app[feed_cache_key].invalidate()
    clock.advance(hours=1)
    second = await client.get("/feeds/briefs.atom")
    assert await second.read() == first


@pytest.fixture
async def quiet(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: AsyncEngine
) -> TestClient:
    """A client whose app runs no dispatcher: nothing invalidates the cache unless told."""
    return await aiohttp_client(create_app(settings, clock=clock, run_workers=False))


async def _publish_now(client: TestClient, headers: dict[str, str], clock: Clock) -> str:
    """Publish within the same second as the last feed request."""
    clock.advance(milliseconds=500)
    response = await client.post("/api/v1/briefs", json=brief_body(), headers=headers)
    brief_id = str((await response.json())["id"])
    response = await client.post(f"/api/v1/briefs/{brief_id}/publish", headers=headers)
    assert response.status == 200, await response.text()
    return brief_id


async def test_rendered_once_per_change_and_rechecked_once_a_second(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    aiohttp_client: Any,
    settings: Settings,
) -> None:
    cache = quiet.app[feed_cache_key]
    first = await publish(quiet, publisher, clock)
    await asyncio.gather(*(quiet.get("/feeds/briefs.atom") for _ in range(10)))
    assert cache.renders == 1

    # Another process's change (SQLite: no NOTIFY): nothing here wakes, the version must tell.
    other = await aiohttp_client(create_app(settings, clock=clock, run_workers=False))
    second = await _publish_now(other, publisher, clock)
    assert [e.id for e in (await fetch(quiet, "/feeds/briefs.atom")).entries] == [urn(first)]
    clock.advance(milliseconds=500)
    entries = (await fetch(quiet, "/feeds/briefs.atom")).entries
    assert [e.id for e in entries] == [urn(second), urn(first)]
    assert cache.renders == 2


async def test_invalidate_shows_a_change_at_once(
    quiet: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    first = await publish(quiet, publisher, clock)
    assert len((await fetch(quiet, "/feeds/briefs.rss")).entries) == 1
    second = await _publish_now(quiet, publisher, clock)
    quiet.app[feed_cache_key].invalidate()
    entries = (await fetch(quiet, "/feeds/briefs.rss")).entries
    assert [e.id for e in entries] == [urn(second), urn(first)]


async def test_waking_the_dispatcher_invalidates_the_feeds(
    quiet: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    """A publication wakes the dispatcher after its commit: the feed shows it at the next
    request, before the event is handled and within the second the version waits."""
    await publish(quiet, publisher, clock)
    assert len((await fetch(quiet, "/feeds/briefs.atom")).entries) == 1
    await _publish_now(quiet, publisher, clock)
    assert len((await fetch(quiet, "/feeds/briefs.atom")).entries) == 2
    # Another instance's change, told by NOTIFY, wakes it the same way.
    await quiet.app[dispatcher_key].run_once()  # handling the events changes nothing more
    cache = quiet.app[feed_cache_key]
    renders = cache.renders
    assert len((await fetch(quiet, "/feeds/briefs.atom")).entries) == 2
    assert cache.renders == renders
    quiet.app[dispatcher_key].wake()
    await fetch(quiet, "/feeds/briefs.atom")
    assert cache.renders == renders + 1


async def test_significant_update_moves_updated_and_the_validators(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    brief_id = await publish(client, publisher, clock)
    before = await client.get("/feeds/briefs.atom")
    clock.advance(hours=2)
    change = {"summary": "New findings were added.", "significant": True, "change_note": "Added"}
    response = await client.patch(f"/api/v1/briefs/{brief_id}", json=change, headers=publisher)
    assert response.status == 200, await response.text()
    after = await client.get(
        "/feeds/briefs.atom", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status == 200
    assert after.headers["Last-Modified"] == "Mon, 23 Nov 2026 11:01:00 GMT"
    entry = (await fetch(client, "/feeds/briefs.atom")).entries[0]
    assert entry.id == urn(brief_id)
    assert entry.updated == "2026-11-23T11:01:00+00:00"
    assert entry.published == "2026-11-23T09:01:00+00:00"
    assert "New findings were added." in entry.summary


async def test_minor_edit_changes_the_title_without_moving_updated(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    brief_id = await publish(client, publisher, clock)
    before = await client.get("/feeds/briefs.rss")
    clock.advance(hours=1)
    response = await client.patch(
        f"/api/v1/briefs/{brief_id}", json={"title": "Corrected title"}, headers=publisher
    )
    assert response.status == 200, await response.text()
    after = await client.get(
        "/feeds/briefs.rss", headers={"If-Modified-Since": before.headers["Last-Modified"]}
    )
    assert after.status == 200
    atom = await fetch(client, "/feeds/briefs.atom")
    assert atom.entries[0].title == "Corrected title"
    assert atom.entries[0].updated == "2026-11-23T09:01:00+00:00"
    assert atom.feed.updated == "2026-11-23T09:01:00+00:00"
    rss = await fetch(client, "/feeds/briefs.rss")
    assert rss.entries[0].title == "Corrected title"
    assert rss.entries[0].id == urn(brief_id)


async def test_withdrawn_brief_leaves_the_feed(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    kept = await publish(client, publisher, clock, themes=["neglect"])
    gone = await publish(client, publisher, clock, themes=["neglect"])
    before = await client.get("/feeds/themes/neglect.atom")
    assert len((await fetch(client, "/feeds/themes/neglect.atom")).entries) == 2
    clock.advance(minutes=5)
    response = await client.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher)
    assert response.status == 200, await response.text()
    etag = before.headers["ETag"]
    for path in ("/feeds/themes/neglect.atom", "/feeds/briefs.rss?theme=neglect"):
        assert (await client.get(path, headers={"If-None-Match": etag})).status == 200
        assert [e.id for e in (await fetch(client, path)).entries] == [urn(kept)]


async def test_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    cache = FeedCache(clock, max_entries=2)
    rendered: list[str] = []

    async def version() -> int:
        return 1

    def renderer(key: str):  # type: ignore[no-untyped-def]
        async def render() -> RenderedFeed:
            rendered.append(key)
            return RenderedFeed.of(key.encode(), "text/plain", clock())

        return render

    for key in ("a", "b", "a", "c", "a", "b"):
        await cache.get(key, version=version, render=renderer(key))
    assert rendered == ["a", "b", "c", "b"]
    assert len(cache) == 2


async def test_a_render_started_before_invalidate_is_not_kept() -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    cache = FeedCache(clock)
    release = asyncio.Event()
    bodies = iter([b"old", b"new"])

    async def version() -> int:
        return 1

    async def render() -> RenderedFeed:
        body = next(bodies)
        if body == b"old":
            await release.wait()
        return RenderedFeed.of(body, "text/plain", clock())

    waiting = [
        asyncio.create_task(cache.get("k", version=version, render=render)) for _ in range(3)
    ]
    await asyncio.sleep(0)
    cache.invalidate()
    release.set()
    assert {(await task).body for task in waiting} == {b"old"}  # one render for all three
    assert (await cache.get("k", version=version, render=render)).body == b"new"
