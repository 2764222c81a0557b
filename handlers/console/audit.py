"""The audit log, for administrators: GET /staff/audit (a page of fifty, newest first) and
GET /staff/audit.csv (every entry the same filters leave), read by service.audit.queries.

Filters, all optional: ``what`` (a category), ``who`` (a member of staff's id), ``from`` and
``to`` (YYYY-MM-DD, days in the service's time zone, both included), ``page``."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from handlers.console.common import page, staff_key, staff_only
from handlers.inputs import whole_number
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key
from service.audit import queries
from service.audit import service as audit
from service.audit.models import Action
from service.staff.models import Role

routes = web.RouteTableDef()
CATEGORIES = [
    ("", "Everything"),
    ("published", "Briefs published"),
    ("updated", "Briefs edited or updated"),
    ("withdrawn", "Briefs withdrawn or restored"),
    ("drafts", "Drafts created"),
    ("staff", "Staff added, removed or given another role"),
    ("groups", "Groups and their members"),
    ("exports", "Exports"),
    ("addresses", "Suspended addresses"),
    ("webhooks", "Partners' webhook endpoints"),
]


class Problems(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


@routes.get("/staff/audit")
@staff_only(Role.admin)
async def audit_page(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        who = await queries.people(session)
        try:
            filters = _filters(request, who)
            number = whole_number(request.query.get("page", "1"), "page")
        except Problems as exc:
            context = _context(request, who, errors=exc.errors)
            return page("console/audit.html", request, context, status=422)
        entries, total = await queries.page(session, filters, number)
    pages = max(1, -(-total // queries.PAGE))
    context = _context(request, who, entries=entries, total=total, number=number, pages=pages)
    return page("console/audit.html", request, context)


@routes.get("/staff/audit.csv")
@staff_only(Role.admin)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[readonly_key]() as session:
        who = await queries.people(session)
        try:
            filters = _filters(request, who)
        except Problems as exc:
            context = _context(request, who, errors=exc.errors)
            return page("console/audit.html", request, context, status=422)
    now = app[clock_key]()
    given = _query(request)
    async with app[sessions_key].begin() as session:  # before it is read: the CSV has it too
        details = {"filters": given} if given else {}
        audit.record(
            session, request[staff_key], Action.exported, "Audit log (CSV)", now=now, **details
        )
    name = f"audit-log-{now.astimezone(_zone(request)).date().isoformat()}.csv"
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    async with app[readonly_key]() as session:
        async for chunk in _csv(queries.every(session, filters), _zone(request)):
            await response.write(chunk.encode())
    await response.write_eof()
    return response


def _zone(request: web.Request) -> ZoneInfo:
    return request.app[settings_key].zone


def _query(request: web.Request) -> dict[str, str]:
    """The filters as given, for links and for the record of an export."""
    names = ("what", "who", "from", "to")
    return {name: request.query[name] for name in names if request.query.get(name)}


def _filters(request: web.Request, who: list[tuple[int, str]]) -> queries.Filters:
    query, errors = request.query, {}
    category = query.get("what", "")
    if category not in dict(CATEGORIES):
        errors["what"] = "Choose what to list from the options"
    staff_id = None
    if query.get("who"):
        staff_id = dict((str(i), i) for i, _ in who).get(query["who"])
        if staff_id is None:
            errors["who"] = "Choose a member of staff from the list"
    first = _day(query.get("from", ""), "from", "start", errors)
    last = _day(query.get("to", ""), "to", "end", errors)
    if first and last and first > last:
        errors["from"] = "The start date must be on or before the end date"
    if errors:
        raise Problems(errors)
    zone = _zone(request)
    return queries.Filters(
        category=category or None,
        staff_id=staff_id,
        start=datetime.combine(first, time(), zone) if first else None,
        end=datetime.combine(last + timedelta(days=1), time(), zone) if last else None,
    )


def _day(value: str, name: str, which: str, errors: dict[str, str]) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"The {which} date must be a real date, written as YYYY-MM-DD"
        return None


def _context(request: web.Request, who: list[tuple[int, str]], **more: Any) -> dict[str, Any]:
    given = _query(request)
    errors = more.pop("errors", {})
    return {
        "categories": CATEGORIES,
        "people": who,
        "given": given,
        "zone": _zone(request),
        "link": lambda number: "/staff/audit?" + urlencode({**given, "page": number}),
        "csv": "/staff/audit.csv" + ("?" + urlencode(given) if given else ""),
        "errors": errors,
        "error_summary": errors,
        "entries": [],
        **more,
    }


COLUMNS = ["occurred_at", "staff", "action", "subject", "brief_id", "details"]


async def _csv(entries: AsyncIterator[queries.Entry], zone: ZoneInfo) -> AsyncIterator[str]:
    """The log as CSV, a hundred rows a write; a cell a spreadsheet would read as a formula
    is written with a leading apostrophe (OWASP's advice on CSV injection)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    async for entry in entries:
        writer.writerow(
            [
                entry.occurred_at.astimezone(zone).isoformat(timespec="seconds"),
                safe(entry.staff),
                entry.action,
                safe(entry.subject),
                str(entry.brief_id or ""),
                safe(_details(entry)),
            ]
        )
        n += 1
        if n % 100 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _details(entry: queries.Entry) -> str:
    parts = []
    if entry.significant:
        parts.append("significant")
    if entry.fields and entry.action == "edit":
        parts.append("changed: " + ", ".join(entry.fields))
    if entry.note:
        parts.append("note: " + entry.note)
    for key, value in entry.details.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def safe(cell: str) -> str:
    """A text cell no spreadsheet runs as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
