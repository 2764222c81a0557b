"""When digests are due, in the configured time zone, and the scheduler that ticks them.

The scheduler holds no state: each tick asks for the run of the latest scheduled time, and
the database (a run row unique on frequency and period end) makes repeats harmless. At
start-up the same tick catches up a run missed while the service was down.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from service.settings import Settings

log = logging.getLogger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def latest_scheduled(now: datetime, frequency: str, settings: Settings) -> datetime:
    """The latest scheduled digest time not after ``now``, as an aware UTC datetime.

    Local wall-clock times are turned into instants by the zone's rules, so a daily 07:30
    stays 07:30 in London across the March and October clock changes.
    """
    zone = settings.zone
    local = now.astimezone(zone)
    for days_back in range(0, 8):
        day = (local - timedelta(days=days_back)).date()
        if frequency == "weekly" and DAYS[day.weekday()] != settings.weekly_digest_day:
            continue
        candidate = _instant(day, settings.daily_digest_time, zone)
        if candidate <= now:
            return candidate
    raise AssertionError("a weekly schedule always has a time within eight days")


def _instant(day: object, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type]


def scheduler(settings: Settings, tick: Callable[[str], Awaitable[None]]) -> AsyncIOScheduler:
    """An in-memory schedule: daily at the digest time, weekly on the digest day too."""
    at = settings.daily_digest_time
    jobs = AsyncIOScheduler(timezone=settings.zone)
    common = {"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1}
    jobs.add_job(
        tick,
        CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.zone),
        args=["daily"],
        id="daily-digest",
        **common,
    )
    weekly = CronTrigger(
        day_of_week=settings.weekly_digest_day,
        hour=at.hour,
        minute=at.minute,
        timezone=settings.zone,
    )
    jobs.add_job(tick, weekly, args=["weekly"], id="weekly-digest", **common)
    return jobs
