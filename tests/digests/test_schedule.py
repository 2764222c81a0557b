"""Digest times in Europe/London, across the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digests.schedule import latest_scheduled
from service.settings import Settings

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]  # 07:30, Mondays, Europe/London


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "daily", "weekly"),
    [
        # Winter: 07:30 in London is 07:30 UTC.
        ("2026-11-26 12:00", "2026-11-26 07:30", "2026-11-23 07:30"),
        ("2026-11-23 07:29", "2026-11-22 07:30", "2026-11-16 07:30"),
        ("2026-11-23 07:30", "2026-11-23 07:30", "2026-11-23 07:30"),
        # The clocks go forward on Sunday 29 March 2026: 07:30 BST is 06:30 UTC.
        ("2026-03-29 06:31", "2026-03-29 06:30", "2026-03-23 07:30"),
        ("2026-03-30 06:30", "2026-03-30 06:30", "2026-03-30 06:30"),
        # They go back on Sunday 25 October 2026: Saturday is BST, Sunday GMT.
        ("2026-10-25 07:29", "2026-10-24 06:30", "2026-10-19 06:30"),
        ("2026-10-25 07:30", "2026-10-25 07:30", "2026-10-19 06:30"),
        ("2026-10-26 07:30", "2026-10-26 07:30", "2026-10-26 07:30"),
    ],
)
def test_latest_scheduled_time_in_london(now: str, daily: str, weekly: str) -> None:
    assert latest_scheduled(at(now), "daily", SETTINGS) == at(daily)
    assert latest_scheduled(at(now), "weekly", SETTINGS) == at(weekly)


def test_the_weekly_day_and_time_are_settings() -> None:
    friday = SETTINGS.model_copy(update={"weekly_digest_day": "fri"})
    assert latest_scheduled(at("2026-11-26 12:00"), "weekly", friday) == at("2026-11-20 07:30")
