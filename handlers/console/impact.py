"""The impact report in the console: GET /staff/impact (a page with charts, each followed by
its table) and GET /staff/impact.csv, for ?from=YYYY-MM-DD&to=YYYY-MM-DD (any staff role).

With no dates at all the page offers the form, set to the last twelve whole months."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from handlers.console.common import page, staff_key, staff_only
from handlers.impact import today
from learnhub.keys import clock_key, readonly_key, sessions_key, tagging_key
from practice.impact import service as impact
from service.audit import service as audit
from service.audit.models import Action

routes = web.RouteTableDef()
SERIES = (
    ("emails_delivered", "Emails delivered"),
    ("acknowledgements", "Acknowledgements"),
    ("discussions", "Team discussions"),
)
CHART = {"width": 640, "height": 220, "left": 48, "bottom": 40, "top": 16}


@routes.get("/staff/impact")
@staff_only()
async def impact_page(request: web.Request) -> web.Response:
    start, end = request.query.get("from"), request.query.get("to")
    if start is None and end is None:
        first, last = _last_twelve_months(today(request))
        return page("console/impact.html", request, _form(first.isoformat(), last.isoformat()))
    try:
        span = impact.period(start, end)
    except impact.PeriodProblem as exc:
        errors = {exc.field: exc.message}
        context = {**_form(start or "", end or ""), "errors": errors, "error_summary": errors}
        return page("console/impact.html", request, context, status=422)
    async with request.app[readonly_key]() as session:
        report = await impact.report(session, span, today(request))
    context = {
        **_form(span.first.isoformat(), span.last.isoformat()),
        "report": report,
        "charts": [_chart(report["months"], key, title) for key, title in SERIES],
        "labels": _labels(request),
    }
    return page("console/impact.html", request, context)


@routes.get("/staff/impact.csv")
@staff_only()
async def impact_csv(request: web.Request) -> web.Response:
    try:
        span = impact.period(request.query.get("from"), request.query.get("to"))
    except impact.PeriodProblem as exc:
        return web.json_response(
            {
                "error": {
                    "code": "invalid",
                    "message": exc.message,
                    "details": [{"field": exc.field, "message": exc.message}],
                }
            },
            status=422,
        )
    async with request.app[readonly_key]() as session:
        report = await impact.report(session, span, today(request))
    name = f"impact-{span.first.isoformat()}-to-{span.last.isoformat()}.csv"
    async with request.app[sessions_key].begin() as session:  # the audit log's record of it
        subject = f"Impact report, {span.first.isoformat()} to {span.last.isoformat()} (CSV)"
        now = request.app[clock_key]()
        audit.record(session, request[staff_key], Action.exported, subject, now=now)
    return web.Response(
        text=to_csv(report),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def to_csv(report: dict[str, Any]) -> str:
    """The report as rows of (section, name, value), then one row per brief."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["section", "name", "value"])
    w.writerow(["period", "from", report["from"]])
    w.writerow(["period", "to", report["to"]])
    published = report["briefs_published"]
    w.writerow(["briefs_published", "total", published["total"]])
    for code, count in published["by_theme"].items():
        w.writerow(["briefs_published_by_theme", code, count])
    emails = report["emails_delivered"]
    for name in ("total", "alerts", "digests"):
        w.writerow(["emails_delivered", name, emails[name]])
    for code, count in emails["by_agency"].items():
        w.writerow(["emails_delivered_by_agency", code, count])
    for code, count in emails["by_borough"].items():
        w.writerow(["emails_delivered_by_borough", code, count])
    w.writerow(["acknowledgements", "total", report["acknowledgements"]])
    w.writerow(["discussions", "total", report["discussions"]])
    w.writerow(["discussions", "practitioners", report["practitioners"]])
    for name, count in report["actions"].items():
        w.writerow(["actions", name, count])
    for month in report["months"]:
        for key, _ in SERIES:
            w.writerow([f"month_{key}", month["month"], month[key]])
    w.writerow([])
    columns = [
        "id",
        "title",
        "published_at",
        "published_in_period",
        "withdrawn",
        "themes",
        "emails_delivered",
        "acknowledgements",
        "discussions",
        "practitioners",
        "actions_agreed",
        "actions_done",
        "actions_overdue",
    ]
    w.writerow(["brief_" + c for c in columns])
    for row in report["briefs"]:
        values = [row[c] for c in columns]
        values[5] = " ".join(row["themes"])
        values[3] = "yes" if row["published_in_period"] else "no"
        values[4] = "yes" if row["withdrawn"] else "no"
        w.writerow([_safe(v) for v in values])
    return out.getvalue()


def _safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (a title may start with = + - @)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _form(start: str, end: str) -> dict[str, Any]:
    return {"start": start, "end": end, "errors": {}, "error_summary": {}, "report": None}


def _last_twelve_months(day: date) -> tuple[date, date]:
    """The twelve whole months before ``day``'s month."""
    last = day.replace(day=1) - timedelta(days=1)
    if last.month == 12:
        return date(last.year, 1, 1), last
    return date(last.year - 1, last.month + 1, 1), last


def _labels(request: web.Request) -> dict[str, str]:
    taxonomy = request.app[tagging_key].taxonomy
    labels = {"unknown": "Unknown"}
    for facet in ("themes", "agencies", "boroughs"):
        labels.update({t.code: t.label for t in taxonomy.terms(facet)})
    return labels


def _chart(months: list[dict[str, Any]], key: str, title: str) -> dict[str, Any]:
    """A bar chart's geometry: one bar a month, a scale from 0 to a round top."""
    values = [m[key] for m in months]
    top = _round_top(max(values, default=0))
    inner_w = CHART["width"] - CHART["left"] - 8
    inner_h = CHART["height"] - CHART["top"] - CHART["bottom"]
    step = inner_w / max(len(values), 1)
    bars = []
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        height = inner_h * value / top
        bars.append(
            {
                "x": round(CHART["left"] + i * step + step * 0.15, 1),
                "y": round(CHART["top"] + inner_h - height, 1),
                "width": round(step * 0.7, 1),
                "height": round(height, 1),
                "month": month["month"],
                "value": value,
                "label_x": round(CHART["left"] + i * step + step / 2, 1),
            }
        )
    return {
        "key": key,
        "title": title,
        "bars": bars,
        "top": top,
        "ticks": [
            (round(CHART["top"] + inner_h * (1 - f), 1), round(top * f)) for f in (0, 0.5, 1)
        ],
        "months": months,
        "dense": len(values) > 12,
        **CHART,
        "baseline": CHART["top"] + inner_h,
    }


def _round_top(value: int) -> int:
    """The first of 2, 4, 10, 20, 40, 100, ... at or above ``value``: even, so the middle
    tick is a whole number."""
    scale = 1
    while True:
        for factor in (2, 4, 10):
            if factor * scale >= value:
                return factor * scale
        scale *= 10
