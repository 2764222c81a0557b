"""The audit log (issue 19, part 5): who published, updated, withdrew, exported or changed
staff and groups, and when; filters, pages and a CSV, for administrators only."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit import queries
from service.audit.models import AuditEvent
from service.staff.models import StaffMember
from service.webhooks.models import WebhookEndpoint
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, sign_in
from tests.web.helpers import publish

CELLS = re.compile(
    r'<tr class="govuk-table__row">\s*<td class="govuk-table__cell">(.*?)</tr>', re.S
)


def _rows(page: str) -> list[str]:
    """Each row of the log as text: when, who, what."""
    rows = []
    for row in CELLS.findall(page):
        text = re.sub(r"<[^>]+>", " ", row)
        rows.append(html.unescape(re.sub(r"\s+", " ", text).strip()))
    return rows


async def _id(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(StaffMember.id).where(StaffMember.email == email))
    assert found is not None
    return found


async def _history(
    web: TestClient,
    smtp_server: SmtpServer,
    sessions: Any,
    clock: Clock,
    publisher: dict[str, str],
) -> str:
    """A publication, a significant update, a withdrawal with a note, a restoration (by the
    API's publisher), then staff and group changes and an export (by the console's admin)."""
    # Tags chosen by the publisher, so that an edit of the text changes the text alone.
    tags = {"themes": ["safer-sleep"], "agencies": [], "boroughs": []}
    brief = await publish(web, publisher, title='=HYPERLINK("http://x")Safer sleep', **tags)
    clock.advance(minutes=1)
    update = {"summary": "New findings.", "significant": True, "change_note": "Coroner's findings."}
    patched = await web.patch(f"/api/v1/briefs/{brief}", json=update, headers=publisher)
    assert patched.status == 200, await patched.text()
    clock.advance(minutes=1)
    withdrawn = await web.post(
        f"/api/v1/briefs/{brief}/withdraw", json={"note": "Legal asked us"}, headers=publisher
    )
    assert withdrawn.status == 200, await withdrawn.text()
    clock.advance(minutes=1)
    await web.post(f"/api/v1/briefs/{brief}/restore", headers=publisher)
    clock.advance(minutes=1)

    await sign_in(web, smtp_server, ADMIN)
    added = await form_post(web, "/staff/members/new", {"email": "temp@nhs.net", "role": "admin"})
    assert added.status == 201
    clock.advance(minutes=1)
    temp = await _id(sessions, "temp@nhs.net")
    path = f"/staff/members/{temp}"
    assert (await form_post(web, path, {"role": "publisher"}, path=f"{path}/role")).status == 303
    clock.advance(minutes=1)
    assert (await form_post(web, f"{path}/remove", {}, path=f"{path}/remove")).status == 303
    clock.advance(minutes=1)
    group = await form_post(web, "/staff/groups/new", {"name": "Wirral MASH", "frequency": "daily"})
    group_path = group.headers["Location"].split("?")[0]
    clock.advance(minutes=1)
    await form_post(
        web, group_path, {"addresses": "a@nhs.net, b@nhs.net"}, path=f"{group_path}/members"
    )
    clock.advance(minutes=1)
    exported = await web.get("/staff/impact.csv?from=2026-01-01&to=2026-12-31")
    assert exported.status == 200
    clock.advance(minutes=1)
    return brief


async def test_the_log_says_who_did_what_and_when_in_words(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: Any,
    clock: Clock,
    publisher: dict[str, str],
) -> None:
    brief = await _history(web, smtp_server, sessions, clock, publisher)
    response = await web.get("/staff/audit")
    assert response.status == 200
    rows = _rows(await response.text())
    api = "publisher@merseyside.police.uk"
    title = '=HYPERLINK("http://x")Safer sleep'
    assert rows == [
        f"23 Nov 2026 09:09 {ADMIN} Exported Impact report, 2026-01-01 to 2026-12-31 (CSV)",
        f"23 Nov 2026 09:08 {ADMIN} Invited 2 people to Wirral MASH Who a@nhs.net, b@nhs.net",
        f"23 Nov 2026 09:07 {ADMIN} Created the group Wirral MASH",
        f"23 Nov 2026 09:06 {ADMIN} Removed temp@nhs.net from staff",
        f"23 Nov 2026 09:05 {ADMIN} Changed the role of temp@nhs.net from administrator "
        "to publisher",
        f"23 Nov 2026 09:04 {ADMIN} Added temp@nhs.net to staff as administrator",
        f"23 Nov 2026 09:03 {api} Restored as a draft: {title}",
        f"23 Nov 2026 09:02 {api} Withdrawn: {title} Note: Legal asked us",
        f"23 Nov 2026 09:01 {api} Significant update: {title} Changed: summary "
        "Change note: Coroner's findings.",
        f"23 Nov 2026 09:00 {api} Published: {title}",
        f"23 Nov 2026 09:00 {api} Created as a draft: {title}",
    ]
    html = await response.text()
    assert f'href="/staff/briefs/{brief}"' in html and "11 entries" in html

    published = _rows(await (await web.get("/staff/audit?what=published")).text())
    assert published == [f"23 Nov 2026 09:00 {api} Published: {title}"]
    staff_changes = await (await web.get("/staff/audit?what=staff")).text()
    assert len(_rows(staff_changes)) == 3 and "3 entries" in staff_changes
    withdrawals = _rows(await (await web.get("/staff/audit?what=withdrawn")).text())
    assert [r.split(" ", 5)[-1] for r in withdrawals] == [
        f"Restored as a draft: {title}",
        f"Withdrawn: {title} Note: Legal asked us",
    ]
    who = await _id(sessions, "publisher@merseyside.police.uk")
    theirs = _rows(await (await web.get(f"/staff/audit?who={who}")).text())
    assert len(theirs) == 5 and all(api in row for row in theirs)
    # A removed member of staff is still named, and can still be chosen.
    temp = await _id(sessions, "temp@nhs.net")
    assert f'<option value="{temp}">temp@nhs.net</option>' in html
    # Days are the service's (UK) days, both included.
    assert _rows(await (await web.get("/staff/audit?from=2026-11-24")).text()) == []
    day = await (await web.get("/staff/audit?from=2026-11-23&to=2026-11-23&what=groups")).text()
    assert len(_rows(day)) == 2


async def test_the_csv_has_every_entry_safely_and_is_itself_recorded(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: Any,
    clock: Clock,
    publisher: dict[str, str],
) -> None:
    brief = await _history(web, smtp_server, sessions, clock, publisher)
    response = await web.get("/staff/audit.csv?what=withdrawn")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="audit-log-2026-11-23.csv"'
    )
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows == [
        ["occurred_at", "staff", "action", "subject", "brief_id", "details"],
        ["2026-11-23T09:03:00+00:00", "publisher@merseyside.police.uk", "restore",
         "'=HYPERLINK(\"http://x\")Safer sleep", brief, ""],
        ["2026-11-23T09:02:00+00:00", "publisher@merseyside.police.uk", "withdraw",
         "'=HYPERLINK(\"http://x\")Safer sleep", brief, "note: Legal asked us"],
    ]  # fmt: skip
    everything = list(csv.reader(io.StringIO(await (await web.get("/staff/audit.csv")).text())))
    # Both exports are in it: the first, and this one, recorded before it was read.
    assert len(everything) == 1 + 13
    assert everything[1][2:] == ["exported", "Audit log (CSV)", "", ""]
    assert everything[2][2:] == ["exported", "Audit log (CSV)", "", "filters: what=withdrawn"]
    async with sessions() as session:
        exports = await session.scalars(
            select(AuditEvent.subject).where(AuditEvent.action == "exported")
        )
        assert list(exports) == [
            "Impact report, 2026-01-01 to 2026-12-31 (CSV)",
            "Audit log (CSV)",
            "Audit log (CSV)",
        ]


async def test_many_entries_come_a_page_at_a_time_and_the_csv_has_them_all(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any, clock: Clock
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    created = await form_post(web, "/staff/groups/new", {"name": "Big group", "frequency": "daily"})
    group = created.headers["Location"].split("?")[0]
    for _ in range(60):
        clock.advance(seconds=1)
        await form_post(web, group, {}, path=f"{group}/feed-token")
    first = await (await web.get("/staff/audit")).text()
    assert "61 entries, page 1 of 2" in first and len(_rows(first)) == 50
    assert 'href="/staff/audit?page=2" rel="next"' in first and 'rel="prev"' not in first
    second = await (await web.get("/staff/audit?page=2")).text()
    assert len(_rows(second)) == 11 and _rows(second)[-1].endswith("Created the group Big group")
    assert 'href="/staff/audit?page=1" rel="prev"' in second
    assert _rows(await (await web.get("/staff/audit?page=3")).text()) == []
    rows = list(csv.reader(io.StringIO(await (await web.get("/staff/audit.csv")).text())))
    assert len(rows) == 1 + 62  # with the export itself
    assert len({tuple(r) for r in rows}) == 63
    # Read seven at a time, each chunk after the last one read: none twice, none left out,
    # ties on the time included (every feed link of one second, and the group's creation).
    async with sessions.begin() as session:
        for event in await session.scalars(select(AuditEvent)):
            event.occurred_at = clock.now
    async with sessions() as session:
        chunked = [e async for e in queries.every(session, queries.Filters(), chunk=7)]
        whole = [e async for e in queries.every(session, queries.Filters())]
    assert chunked == whole and len(whole) == 62


async def test_bad_filters_are_named_and_only_admins_read_the_log(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    assert (await web.get("/staff/audit", allow_redirects=False)).status == 303
    await sign_in(web, smtp_server, PUBLISHER)
    assert (await web.get("/staff/audit")).status == 403
    assert (await web.get("/staff/audit.csv")).status == 403
    assert 'href="/staff/audit"' not in await (await web.get("/staff/briefs")).text()
    web.session.cookie_jar.clear()
    await sign_in(web, smtp_server, ADMIN)
    assert 'href="/staff/audit"' in await (await web.get("/staff/briefs")).text()
    for query, field, message in (
        ("what=everything-ever", "what", "Choose what to list"),
        ("who=99999", "who", "Choose a member of staff"),
        ("who=%3Cscript%3E", "who", "Choose a member of staff"),
        ("from=2026-02-30", "from", "The start date must be a real date"),
        ("to=yesterday", "to", "The end date must be a real date"),
        ("from=2026-12-02&to=2026-12-01", "from", "on or before the end date"),
    ):
        for path in ("/staff/audit", "/staff/audit.csv"):
            response = await web.get(f"{path}?{query}")
            assert response.status == 422, (path, query)
            html = await response.text()
            assert "There is a problem" in html and f'href="#{field}"' in html, (query, html)
            assert message in html and "<script>" not in html
    for number in ("0", "-1", "abc", "99999999999"):
        assert (await web.get(f"/staff/audit?page={number}")).status == 400


async def test_partners_webhook_endpoints_registered_enabled_and_deleted_are_in_the_log(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: Any,
    clock: Clock,
    admin: dict[str, str],
) -> None:
    hook = "https://hooks.partner.example/learnhub"  # does not resolve: taken, checked at send
    body = {
        "url": hook,
        "event_types": ["brief.published", "brief.withdrawn"],
        "description": "Sefton CSP case system",
        "boroughs": ["sefton"],
        "practitioner_trusted": True,
    }
    created = await web.post("/api/v1/webhooks", json=body, headers=admin)
    assert created.status == 201, await created.text()
    endpoint = await created.json()
    path = f"/api/v1/webhooks/{endpoint['id']}"
    clock.advance(minutes=1)
    # The service disabled it after three days of failures; an admin sends to it again.
    async with sessions.begin() as session:
        row = await session.get(WebhookEndpoint, endpoint["id"])
        row.status, row.disabled_reason = "disabled", "failing since 20 November: HTTP 503"
    assert (await web.post(f"{path}/enable", headers=admin)).status == 200
    clock.advance(minutes=1)
    assert (await web.delete(path, headers=admin)).status == 204
    clock.advance(minutes=1)

    await sign_in(web, smtp_server, ADMIN)
    page = await (await web.get("/staff/audit?what=webhooks")).text()
    api = "admin@merseyside.police.uk"
    assert _rows(page) == [
        f"23 Nov 2026 09:02 {api} Deleted the webhook endpoint {hook} and its deliveries",
        f"23 Nov 2026 09:01 {api} Sent to the webhook endpoint {hook} again "
        "(it had been disabled: failing since 20 November: HTTP 503)",
        f"23 Nov 2026 09:00 {api} Registered the webhook endpoint {hook} "
        "(Sefton CSP case system) for briefs published, withdrawn; practitioners' briefs too",
    ]
    assert '<option value="webhooks" selected>' in page
    rows = list(csv.reader(io.StringIO(await (await web.get("/staff/audit.csv")).text())))
    assert [r[1:4] for r in rows[2:5]] == [
        [api, "webhook_deleted", hook],
        [api, "webhook_enabled", hook],
        [api, "webhook_registered", hook],
    ]
    assert rows[4][5] == (
        f"endpoint_id: {endpoint['id']}; event_types: brief.published, brief.withdrawn; "
        "themes: ; agencies: ; boroughs: sefton; practitioner_trusted: True; "
        "description: Sefton CSP case system"
    )
    # The signing secret is never written into the log.
    async with sessions() as session:
        events = list(await session.scalars(select(AuditEvent)))
    assert len(events) == 4 and endpoint["secret"] not in repr([e.details for e in events])
    assert endpoint["secret"] not in page + str(rows)
