"""The impact report for a period: what was published, delivered, acknowledged, discussed and
agreed, in total, by month and for each brief (docs/impact.md). Counts only.

How the figures reconcile with the records:

- ``briefs_published``: briefs whose ``published_at`` falls in the period; a brief counts once
  under each of its themes (``by_theme`` may add up to more than ``total``).
- ``emails_delivered``: alert and digest messages with status ``sent`` and ``sent_at`` in the
  period, one per message. Each brief's ``emails_delivered`` counts the messages that carried
  it, so a digest of three briefs is one email in the total and one for each of the three.
- ``acknowledgements``: rows whose ``acknowledged_at`` falls in the period.
- ``discussions``, ``practitioners`` and the actions: discussions ``held_on`` a day in the
  period, and their actions; ``overdue`` is open with ``due_on`` before today (whatever the
  period).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from practice.impact import queries
from practice.impact.queries import UNKNOWN, Span

MAX_DAYS = 5 * 366 + 1  # "about five years": 1 January of one year to 31 December four on


@dataclass(frozen=True)
class PeriodProblem(Exception):
    """A period that can't be reported on; ``field`` names the parameter to correct."""

    field: str
    message: str


def period(start: str | None, end: str | None) -> Span:
    """The period from the query's ``from`` and ``to`` (YYYY-MM-DD, both inclusive)."""
    first = _day("from", start)
    last = _day("to", end)
    if first > last:
        raise PeriodProblem("from", "The start date must be on or before the end date")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodProblem("to", "The period must be at most 5 years")
    since = datetime.combine(first, time(), UTC)
    until = datetime.combine(last + timedelta(days=1), time(), UTC)
    return Span(since, until, first, last)


def _day(name: str, value: str | None) -> date:
    which = "start" if name == "from" else "end"
    if not value or not value.strip():
        raise PeriodProblem(name, f"Enter a {which} date")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodProblem(
            name, f"The {which} date must be a real date, written as YYYY-MM-DD"
        ) from None


def months(span: Span) -> list[str]:
    """Every month the period touches, as "YYYY-MM", in order."""
    out = []
    year, month = span.first.year, span.first.month
    while (year, month) <= (span.last.year, span.last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _counts(counter: Counter[str], *, unknown: bool = False) -> dict[str, int]:
    """Codes by count, largest first, then by code; ``unknown`` always present, last."""
    known = sorted(
        ((c, n) for c, n in counter.items() if c != UNKNOWN), key=lambda i: (-i[1], i[0])
    )
    out = dict(known)
    if unknown:
        out[UNKNOWN] = counter.get(UNKNOWN, 0)
    return out


async def report(session: AsyncSession, span: Span, today: date) -> dict[str, Any]:
    """The report as plain data: the JSON answer, and what the page and CSV show."""
    # Days rolled up are read from their counts, the rest (the last day or two) from the
    # records themselves: the same figures either way, but for people who changed their stated
    # agency or borough since their day was counted (practice.impact.rollup, docs/impact.md).
    emails, carried = queries.Emails(), Counter[uuid.UUID]()
    rolled, live = queries.split(span, await queries.rolled_through(session))
    if rolled:
        await queries.rolled_emails(session, rolled, emails)
        await queries.rolled_carried(session, rolled, carried)
    if live:
        await queries.emails(session, live, emails)
        await queries.emails_by_brief(session, live, carried)
    acknowledged, acknowledged_by_month = await queries.acknowledgements(session, span)
    discussed, discussed_by_month = await queries.discussions(session, span, today)
    active: set[uuid.UUID] = set(carried) | set(acknowledged) | set(discussed)
    found = await queries.briefs(session, span, active)

    published = [b for b in found if _within(b.published_at, span)]
    themes: Counter[str] = Counter(code for b in published for code in b.themes)
    totals = queries.Discussed()
    for entry in discussed.values():
        totals.discussions += entry.discussions
        totals.practitioners += entry.practitioners
        totals.agreed += entry.agreed
        totals.done += entry.done
        totals.overdue += entry.overdue

    rows = []
    for brief in found:
        entry = discussed.get(brief.id, queries.Discussed())
        rows.append(
            {
                "id": str(brief.id),
                "title": brief.title,
                "published_at": brief.published_at.isoformat() if brief.published_at else None,
                "published_in_period": _within(brief.published_at, span),
                "withdrawn": brief.status == "withdrawn",
                "themes": list(brief.themes),
                "emails_delivered": carried.get(brief.id, 0),
                "acknowledgements": acknowledged.get(brief.id, 0),
                "discussions": entry.discussions,
                "practitioners": entry.practitioners,
                "actions_agreed": entry.agreed,
                "actions_done": entry.done,
                "actions_overdue": entry.overdue,
            }
        )
    return {
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "today": today.isoformat(),
        "briefs_published": {"total": len(published), "by_theme": _counts(themes)},
        "emails_delivered": {
            "total": sum(emails.by_kind.values()),
            "alerts": emails.by_kind.get("alert", 0),
            "digests": emails.by_kind.get("digest", 0),
            "by_agency": _counts(emails.by_agency, unknown=True),
            "by_borough": _counts(emails.by_borough, unknown=True),
        },
        "acknowledgements": sum(acknowledged.values()),
        "discussions": totals.discussions,
        "practitioners": totals.practitioners,
        "actions": {"agreed": totals.agreed, "done": totals.done, "overdue": totals.overdue},
        "months": [
            {
                "month": month,
                "emails_delivered": emails.by_month.get(month, 0),
                "acknowledgements": acknowledged_by_month.get(month, 0),
                "discussions": discussed_by_month.get(month, 0),
            }
            for month in months(span)
        ],
        "briefs": rows,
    }


def _within(moment: datetime | None, span: Span) -> bool:
    return moment is not None and span.since <= moment < span.until
