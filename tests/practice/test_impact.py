"""The impact report (issue 18, part 5): a known history, and every figure of it in the JSON,
the CSV and the console page, read from the records, from the daily roll-up, and from both;
the roll-up itself; bad periods; who may see it."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from practice.acknowledgements.models import Acknowledgement
from practice.discussions.models import DiscussionAction, TeamDiscussion
from practice.impact import rollup
from practice.impact.models import DailyCarried, DailyEmails
from practice.impact.queries import rolled_through
from practice.people import erase
from service.briefs.models import Brief, BriefTag
from service.mail.models import MailDelivery, MailMessage
from service.settings import Settings
from service.staff.models import StaffMember, StaffSession
from service.staff.service import hash_token
from subscribers.subscriptions.models import DomainAgency
from subscribers.subscriptions.service import by_email
from tests.conftest import Clock
from tests.factories import person
from tests.waiting import until

PERIOD = "from=2026-01-01&to=2026-06-30"
ERASED = "erased@learnhub.invalid"


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: Clock, engine: Any) -> TestClient:
    """Without the scheduler: each test says what is rolled up, and when."""
    return await aiohttp_client(create_app(settings, clock=clock, run_workers=False))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _history(sessions: async_sessionmaker[AsyncSession]) -> dict[str, uuid.UUID]:
    """Briefs, subscribers, emails, acknowledgements and discussions, inside the period
    (1 January to 30 June 2026) and just outside it. Today is 23 November 2026."""
    async with sessions.begin() as session:
        staff = await session.scalar(select(StaffMember))
        assert staff is not None
        ids: dict[str, uuid.UUID] = {}
        for name, published, status, themes in (
            ("A", "2026-02-10 09:00", "published", ["neglect", "infants"]),
            ("B", "2026-03-05 09:00", "withdrawn", ["neglect"]),
            ("C", "2025-12-20 09:00", "published", ["safer-sleep"]),
            ("D", "2026-08-01 09:00", "published", ["neglect"]),
            ("E", None, "draft", ["neglect"]),
        ):
            brief = Brief(
                title=f"Brief {name}",
                summary="s",
                summary_html="<p>s</p>",
                learning_points=["p"],
                source_review="r",
                source_board="b",
                audience="public",
                status=status,
                revision=1,
                created_at=at("2025-12-01 09:00"),
                updated_at=at("2025-12-01 09:00"),
                published_at=at(published) if published else None,
                publication=1 if published else 0,
                created_by=staff.id,
                publisher_facets=["themes"],
                tags=[BriefTag(facet="themes", code=c, source="publisher") for c in themes],
            )
            session.add(brief)
            await session.flush()
            ids[name] = brief.id

        since = at("2025-11-01 09:00")
        p1 = await person(session, "p1@nhs.net", since=since)
        p1.my_agency, p1.my_borough = "health-visiting", "sefton"
        p2 = await person(session, "p2@merseyside.police.uk", since=since)
        p3 = await person(session, "p3@school.example", since=since)
        p3.my_borough = "wirral"
        session.add(DomainAgency(domain="merseyside.police.uk", agency="police"))
        session.add(DomainAgency(domain="nhs.net", agency="primary-care", borough="halton"))

        for n, (kind, to, status, sent, carried) in enumerate(
            [
                ("alert", p1.email, "sent", "2026-02-10 10:00", ["A"]),
                ("alert", p2.email, "sent", "2026-02-10 10:00", ["A"]),
                ("digest", p3.email, "sent", "2026-03-06 07:00", ["A", "B"]),
                ("digest", ERASED, "sent", "2026-03-06 07:00", ["B", "C"]),
                ("alert", p1.email, "failed", "2026-03-05 10:00", ["B"]),
                ("alert", p1.email, "sent", "2026-07-02 10:00", ["D"]),
                ("withdrawal", p1.email, "sent", "2026-03-07 10:00", ["B"]),
                ("confirm", p1.email, "sent", "2026-01-02 10:00", []),
                ("alert", p2.email, "sent", "2025-12-31 23:59:59", ["C"]),
                ("alert", p3.email, "sent", "2026-06-30 23:59:59", ["C"]),
            ]
        ):
            message = MailMessage(
                idempotency_key=f"k{n}",
                kind=kind,
                recipient=to,
                subject="s",
                status=status,
                attempts=1,
                next_attempt_at=at(sent),
                created_at=at(sent),
                sent_at=at(sent) if status == "sent" else None,
            )
            session.add(message)
            await session.flush()
            for name in carried:
                session.add(MailDelivery(message_id=message.id, brief_id=ids[name], revision=1))

        for who, name, when in (
            (p1, "A", "2026-02-11 12:00"),
            (p2, "A", "2026-04-01 12:00"),
            (p3, "C", "2026-01-05 12:00"),
            (p1, "B", "2026-07-01 12:00"),
            (p2, "C", "2025-12-30 12:00"),
        ):
            session.add(
                Acknowledgement(
                    subscriber_id=who.id,
                    brief_id=ids[name],
                    brief_title=f"Brief {name}",
                    answer="Secret answer of one person",
                    acknowledged_at=at(when),
                    updated_at=at(when),
                )
            )

        for name, held, present, actions in (
            (
                "A",
                "2026-02-20",
                8,
                [
                    ("done", "2026-03-01"),
                    ("open", "2026-03-01"),
                    ("open", "2027-01-01"),
                    ("dropped", "2026-03-01"),
                ],
            ),
            ("A", "2026-05-02", 5, [("open", "2026-11-22")]),
            ("C", "2026-06-30", 3, [("done", "2026-07-30")]),
            ("B", "2026-07-01", 10, [("open", "2026-07-02")]),
        ):
            session.add(
                TeamDiscussion(
                    brief_id=ids[name],
                    brief_title=f"Brief {name}",
                    held_on=date.fromisoformat(held),
                    team="Team",
                    agency="police",
                    borough="sefton",
                    practitioners=present,
                    reflections="Private reflections",
                    recorder="staff",
                    recorder_email="rec@merseyside.police.uk",
                    token_hash=secrets.token_hex(32),
                    recorded_at=at("2026-01-01 09:00"),
                    updated_at=at("2026-01-01 09:00"),
                    actions=[
                        DiscussionAction(
                            position=i,
                            what="w",
                            owner_role="o",
                            due_on=date.fromisoformat(due),
                            status=status,
                        )
                        for i, (status, due) in enumerate(actions, start=1)
                    ],
                )
            )
    return ids


def _expected(ids: dict[str, uuid.UUID]) -> dict[str, Any]:
    def row(name: str, published: str, **figures: Any) -> dict[str, Any]:
        zero = dict.fromkeys(
            [
                "emails_delivered",
                "acknowledgements",
                "discussions",
                "practitioners",
                "actions_agreed",
                "actions_done",
                "actions_overdue",
            ],
            0,
        )
        return {
            "id": str(ids[name]),
            "title": f"Brief {name}",
            "published_at": at(published).isoformat(),
            **zero,
            **figures,
        }

    return {
        "from": "2026-01-01",
        "to": "2026-06-30",
        "today": "2026-11-23",
        "briefs_published": {"total": 2, "by_theme": {"neglect": 2, "infants": 1}},
        "emails_delivered": {
            "total": 5,
            "alerts": 3,
            "digests": 2,
            # p1 said health-visiting and sefton (their domain's mapping is not used); p2 is
            # police by domain, borough unknown; p3 said wirral only; the erased person unknown.
            "by_agency": {"health-visiting": 1, "police": 1, "unknown": 3},
            "by_borough": {"wirral": 2, "sefton": 1, "unknown": 2},
        },
        "acknowledgements": 3,
        "discussions": 3,
        "practitioners": 16,
        "actions": {"agreed": 6, "done": 2, "overdue": 2},
        "months": [
            {"month": m, "emails_delivered": e, "acknowledgements": a, "discussions": d}
            for m, e, a, d in [
                ("2026-01", 0, 1, 0),
                ("2026-02", 2, 1, 1),
                ("2026-03", 2, 0, 0),
                ("2026-04", 0, 1, 0),
                ("2026-05", 0, 0, 1),
                ("2026-06", 1, 0, 1),
            ]
        ],
        "briefs": [
            {
                **row("B", "2026-03-05 09:00", emails_delivered=2),
                "published_in_period": True,
                "withdrawn": True,
                "themes": ["neglect"],
            },
            {
                **row(
                    "A",
                    "2026-02-10 09:00",
                    emails_delivered=3,
                    acknowledgements=2,
                    discussions=2,
                    practitioners=13,
                    actions_agreed=5,
                    actions_done=1,
                    actions_overdue=2,
                ),
                "published_in_period": True,
                "withdrawn": False,
                "themes": ["infants", "neglect"],
            },
            {
                **row(
                    "C",
                    "2025-12-20 09:00",
                    emails_delivered=2,
                    acknowledgements=1,
                    discussions=1,
                    practitioners=3,
                    actions_agreed=1,
                    actions_done=1,
                ),
                "published_in_period": False,
                "withdrawn": False,
                "themes": ["safer-sleep"],
            },
        ],
    }


async def _console(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        staff = await session.scalar(select(StaffMember))
        assert staff is not None
        session.add(
            StaffSession(
                token_hash=hash_token(token), staff_id=staff.id, created_at=now, last_seen_at=now
            )
        )
    return {"Cookie": f"lh_staff={token}"}


@pytest.mark.parametrize(
    "rolled_up_to",
    [
        None,  # every figure from the records
        date(2026, 3, 5),  # the alerts of 10 February from the roll-up, the digests live
        date(2026, 11, 21),  # all of it from the roll-up (as the scheduler leaves it today)
    ],
)
async def test_every_figure_reconciles_in_the_json_csv_and_page(
    client: TestClient,
    publisher: dict[str, str],
    sessions: Any,
    clock: Clock,
    rolled_up_to: date | None,
) -> None:
    ids = await _history(sessions)
    expected = _expected(ids)
    if rolled_up_to:
        await rollup.roll_up(sessions, clock, through=rolled_up_to)
        async with sessions() as session:
            assert await rolled_through(session) == rolled_up_to

    response = await client.get(f"/api/v1/impact?{PERIOD}", headers=publisher)
    assert response.status == 200, await response.text()
    got = await response.json()
    assert got == expected
    assert "Secret answer" not in await response.text()
    assert "Private reflections" not in await response.text()

    cookie = await _console(sessions)
    response = await client.get(f"/staff/impact.csv?{PERIOD}", headers=cookie)
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(await response.text())))
    blank = rows.index([])
    figures = {(s, n): v for s, n, v in rows[1:blank]}
    assert figures[("briefs_published", "total")] == "2"
    assert figures[("briefs_published_by_theme", "neglect")] == "2"
    assert figures[("briefs_published_by_theme", "infants")] == "1"
    emails = expected["emails_delivered"]
    for name in ("total", "alerts", "digests"):
        assert figures[("emails_delivered", name)] == str(emails[name])
    for code, count in emails["by_agency"].items():
        assert figures[("emails_delivered_by_agency", code)] == str(count)
    for code, count in emails["by_borough"].items():
        assert figures[("emails_delivered_by_borough", code)] == str(count)
    assert figures[("acknowledgements", "total")] == "3"
    assert figures[("discussions", "total")] == "3"
    assert figures[("discussions", "practitioners")] == "16"
    for name, count in expected["actions"].items():
        assert figures[("actions", name)] == str(count)
    for month in expected["months"]:
        for key in ("emails_delivered", "acknowledgements", "discussions"):
            assert figures[(f"month_{key}", month["month"])] == str(month[key])
    assert len(figures) == len(rows[1:blank])  # nothing counted twice
    header, *briefs = rows[blank + 1 :]
    assert len(briefs) == 3
    for line, want in zip(briefs, expected["briefs"], strict=True):
        cells = dict(zip(header, line, strict=True))
        assert cells["brief_id"] == want["id"]
        assert cells["brief_withdrawn"] == ("yes" if want["withdrawn"] else "no")
        assert cells["brief_themes"] == " ".join(want["themes"])
        for key in ("emails_delivered", "acknowledgements", "discussions", "practitioners"):
            assert cells[f"brief_{key}"] == str(want[key])
        for key in ("actions_agreed", "actions_done", "actions_overdue"):
            assert cells[f"brief_{key}"] == str(want[key])

    response = await client.get(f"/staff/impact?{PERIOD}", headers=cookie)
    assert response.status == 200
    html = await response.text()
    assert "Secret answer" not in html and "Private reflections" not in html
    headline = dict(re.findall(r'data-figure="(\w+)"><dt[^>]*>[^<]*</dt><dd[^>]*>(\d+)</dd>', html))
    assert headline == {
        "briefs_published": "2",
        "emails_delivered": "5",
        "emails_alerts": "3",
        "emails_digests": "2",
        "acknowledgements": "3",
        "discussions": "3",
        "practitioners": "16",
        "actions_agreed": "6",
        "actions_done": "2",
        "actions_overdue": "2",
    }
    for key in ("emails_delivered", "acknowledgements", "discussions"):
        table = html.split(f'id="months-{key}"', 1)[1].split("</table>", 1)[0]
        found = re.findall(r'<th scope="row"[^>]*>([\d-]+)</th><td[^>]*>(\d+)</td>', table)
        assert found == [(m["month"], str(m[key])) for m in expected["months"]]
    assert html.count('role="img"') == 3
    assert len(re.findall(r"<svg[^>]*>\s*<title", html)) == 3
    for section, counts in (
        ("by-agency", emails["by_agency"]),
        ("by-borough", emails["by_borough"]),
        ("by-theme", expected["briefs_published"]["by_theme"]),
    ):
        table = html.split(f'id="{section}"', 1)[1].split("</table>", 1)[0]
        found = re.findall(r'data-code="([\w-]+)">[^<]*</th><td[^>]*>(\d+)</td>', table)
        assert dict(found) == {code: str(count) for code, count in counts.items()}
    for want in expected["briefs"]:
        row = html.split(f'data-brief="{want["id"]}"', 1)[1].split("</tr>", 1)[0]
        assert ("Withdrawn" in row) == want["withdrawn"]
        cells = dict(re.findall(r'data-figure="(\w+)">(\d+)</td>', row))
        keys = ["emails_delivered", "acknowledgements", "discussions", "practitioners"]
        keys += ["actions_agreed", "actions_done", "actions_overdue"]
        assert cells == {key: str(want[key]) for key in keys}
    assert str(ids["D"]) not in html and str(ids["E"]) not in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "from"),
        ("from=2026-01-01", "to"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=2026-1-1&to=2026-03-01", "from"),
        ("from=2026-01-01&to=yesterday", "to"),
        ("from=2026-03-01&to=2026-02-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
    ],
)
async def test_bad_periods_are_422_naming_the_field(
    client: TestClient, publisher: dict[str, str], sessions: Any, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/impact?{query}", headers=publisher)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["details"][0]["field"] == field
    cookie = await _console(sessions)
    if query:  # the page with no dates at all offers the form
        page = await client.get(f"/staff/impact?{query}", headers=cookie)
        assert page.status == 422
        html = await page.text()
        assert "There is a problem" in html and f'href="#{field}"' in html
    assert (await client.get(f"/staff/impact.csv?{query}", headers=cookie)).status == 422


async def test_five_years_is_allowed_and_the_form_starts_at_the_last_twelve_months(
    client: TestClient, publisher: dict[str, str], sessions: Any
) -> None:
    response = await client.get("/api/v1/impact?from=2021-01-01&to=2025-12-31", headers=publisher)
    assert response.status == 200
    assert len((await response.json())["months"]) == 60
    page = await client.get("/staff/impact", headers=await _console(sessions))
    html = await page.text()
    assert page.status == 200
    assert 'value="2025-11-01"' in html and 'value="2026-10-31"' in html


async def test_only_staff_see_the_report(client: TestClient) -> None:
    assert (await client.get(f"/api/v1/impact?{PERIOD}")).status == 401
    bad = {"Authorization": "Bearer nope"}
    assert (await client.get(f"/api/v1/impact?{PERIOD}", headers=bad)).status == 401
    for path in (f"/staff/impact?{PERIOD}", f"/staff/impact.csv?{PERIOD}"):
        assert (await client.get(path, allow_redirects=False)).status == 303


async def _rolled(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int, date | None]:
    async with sessions() as session:
        emails = await session.scalar(select(func.coalesce(func.sum(DailyEmails.count), 0)))
        carried = await session.scalar(select(func.coalesce(func.sum(DailyCarried.count), 0)))
        return int(emails or 0), int(carried or 0), await rolled_through(session)


@pytest.mark.usefixtures("publisher")  # the briefs' publisher
async def test_the_roll_up_counts_each_finished_day_once(sessions: Any, clock: Clock) -> None:
    assert await rollup.roll_up(sessions, clock) == 0  # nothing sent yet: nothing to count
    assert await _rolled(sessions) == (0, 0, None)
    await _history(sessions)

    # 23 November, 09:00: 21 November is the last day that ended a whole day ago. From the
    # first email (31 December 2025), a transaction a day.
    assert rollup.last_day(clock()) == date(2026, 11, 21)
    assert (
        await rollup.roll_up(sessions, clock) == (date(2026, 11, 21) - date(2025, 12, 31)).days + 1
    )
    # Seven alerts and digests were sent, carrying nine briefs (the failed alert, the
    # withdrawal notice and the confirmation are not counted).
    assert await _rolled(sessions) == (7, 9, date(2026, 11, 21))
    assert await rollup.roll_up(sessions, clock) == 0

    clock.advance(hours=14, minutes=59)  # 23:59: 22 November has not been over a day yet
    assert await rollup.roll_up(sessions, clock) == 0
    clock.advance(minutes=1)
    assert await rollup.roll_up(sessions, clock) == 1
    assert await _rolled(sessions) == (7, 9, date(2026, 11, 22))


@pytest.mark.usefixtures("publisher")  # the briefs' publisher
async def test_two_instances_rolling_up_at_once_count_each_day_once(
    sessions: Any, clock: Clock
) -> None:
    await _history(sessions)
    done = await asyncio.gather(*(rollup.roll_up(sessions, clock) for _ in range(3)))
    assert sum(done) == (date(2026, 11, 21) - date(2025, 12, 31)).days + 1
    assert await _rolled(sessions) == (7, 9, date(2026, 11, 21))


async def test_erasing_a_person_leaves_the_days_already_counted_alone(
    client: TestClient, publisher: dict[str, str], sessions: Any, clock: Clock
) -> None:
    """The counts name nobody: a person erased after their day was counted stays in their
    agency's figures; before, their emails count as unknown (the records name no one)."""
    await _history(sessions)
    await rollup.roll_up(sessions, clock, through=date(2026, 2, 28))
    async with sessions.begin() as session:
        for email in ("p1@nhs.net", "p3@school.example"):
            found = await by_email(session, email)
            assert found is not None
            await erase(session, found)
    response = await client.get("/api/v1/impact?from=2026-01-01&to=2026-06-30", headers=publisher)
    emails = (await response.json())["emails_delivered"]
    # 10 February, counted: p1 (health visiting, Sefton) and p2 (police by its domain).
    # 6 March and 30 June, live: p3's digest and alert, now unknown, and the erased digest.
    assert emails["by_agency"] == {"health-visiting": 1, "police": 1, "unknown": 3}
    assert emails["by_borough"] == {"sefton": 1, "unknown": 4}
    assert emails["total"] == 5


@pytest.mark.usefixtures("publisher")  # the briefs' publisher
async def test_the_service_rolls_up_at_start_up(
    aiohttp_client: Any, settings: Settings, clock: Clock, sessions: Any
) -> None:
    await _history(sessions)
    await aiohttp_client(create_app(settings, clock=clock))

    async def rolled() -> bool:
        return (await _rolled(sessions))[2] == date(2026, 11, 21)

    await until(rolled, within=30, what="the start-up roll-up")
    assert await _rolled(sessions) == (7, 9, date(2026, 11, 21))
