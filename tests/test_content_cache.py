"""The content cache itself: what it keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from service.cache import ContentCache
from tests.conftest import Clock


async def test_a_value_it_may_not_keep_is_rendered_for_every_request() -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    cache: ContentCache[tuple[int, str]] = ContentCache(clock, keep=lambda value: value[0] == 200)
    rendered: list[str] = []

    async def version() -> int:
        return 1

    def renderer(key: str, status: int):  # type: ignore[no-untyped-def]
        async def render() -> tuple[int, str]:
            rendered.append(key)
            return status, key

        return render

    for _ in range(3):
        assert await cache.get("gone", version=version, render=renderer("gone", 410)) == (
            410,
            "gone",
        )
        assert await cache.get("here", version=version, render=renderer("here", 200)) == (
            200,
            "here",
        )
    assert rendered == ["gone", "here", "gone", "gone"]
    assert len(cache) == 1


async def test_peek_serves_a_hit_only_while_the_version_needs_no_reading() -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    cache: ContentCache[str] = ContentCache(clock)

    async def version() -> int:
        return 1

    async def render() -> str:
        return "page"

    assert cache.peek("k") is None
    assert await cache.get("k", version=version, render=render) == "page"
    assert cache.peek("k") == "page"
    clock.advance(seconds=1)  # the version is due: get() must read it first
    assert cache.peek("k") is None
    assert await cache.get("k", version=version, render=render) == "page"
    assert cache.peek("k") == "page"
    cache.invalidate()
    assert cache.peek("k") is None
