"""Waiting in tests for something to become true: polled, bounded, and said when it fails."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import pytest

Condition = Callable[[], bool] | Callable[[], Awaitable[bool]]


async def until(condition: Condition, *, within: float, what: str, step: float = 0.02) -> float:
    """Wait until ``condition()`` is true, looking every ``step`` seconds; fail the test after
    ``within``. Returns how long it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        answer = condition()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return loop.time() - start
        if loop.time() - start > within:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(step)
