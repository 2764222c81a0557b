"""Abuse limits on the routes that send email: per client address and per email address."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from service.errors import TooManyRequests

DEFAULT_RULES = "5/minute;20/hour"


class Limiter:
    """A moving window over several rules; a request counts against each of its keys."""

    def __init__(self, storage_uri: str = "memory://", rules: str = DEFAULT_RULES) -> None:
        if not storage_uri.startswith("async+"):
            storage_uri = "async+" + storage_uri  # the asyncio flavour of the same store
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._items: list[RateLimitItem] = parse_many(rules)

    async def check(self, *keys: str) -> None:
        """Count one request for every key, or raise 429 with Retry-After if one is spent."""
        for item in self._items:
            for key in keys:
                if not await self._limiter.test(item, key):
                    stats = await self._limiter.get_window_stats(item, key)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    raise TooManyRequests(
                        f"too many requests; try again in {wait} seconds", retry_after=wait
                    )
        for item in self._items:
            for key in keys:
                await self._limiter.hit(item, key)
