"""Team discussion records through HTTP: each kind of recorder, the emailed link to update the
actions (read from the real email), every refusal, and nothing of a record shown in public."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.access_log import redact
from learnhub.keys import links_key
from practice.discussions import service as discussions
from practice.discussions.models import DiscussionAction, TeamDiscussion
from service.mail.models import MailMessage, MailStatus
from service.practitioners.models import PractitionerSession
from service.staff.service import hash_token
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.tokens import Purpose
from tests.conftest import Clock
from tests.factories import person
from tests.smtp import Received, SmtpServer
from tests.waiting import until
from tests.web.conftest import PUBLISHER, link, sign_in
from tests.web.helpers import HTML, csrf, publish

TEAM = "Kirkby health visiting team"


def good(brief_id: str, **changes: str) -> dict[str, str]:
    """A record a team would send: held on 1 December 2026, one action, a blank row."""
    fields = {
        "brief": brief_id,
        "rows": "2",
        "held_on-day": "1",
        "held_on-month": "12",
        "held_on-year": "2026",
        "team": TEAM,
        "agency": "health-visiting",
        "borough": "knowsley",
        "practitioners": "8",
        "reflections": "We talked about safer sleep at every contact.\nAnd sofas.",
        "actions-1-what": "Add safer sleep to the contact checklist",
        "actions-1-owner_role": "Team manager",
        "actions-1-due_on-day": "31",
        "actions-1-due_on-month": "1",
        "actions-1-due_on-year": "2027",
    }
    fields.update(changes)
    return fields


async def brief(web: TestClient, publisher: dict[str, str], clock: Clock, **fields: Any) -> str:
    """A brief published on 23 November 2026, ten days ago by the clock."""
    brief_id = await publish(web, publisher, **fields)
    clock.advance(days=10)
    return brief_id


async def sign_in_practitioner(
    web: TestClient, sessions: async_sessionmaker[AsyncSession], email: str, now: datetime
) -> None:
    token = secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        session.add(
            PractitionerSession(
                token_hash=hash_token(token), email=email, created_at=now, last_seen_at=now
            )
        )
    web.session.cookie_jar.update_cookies({"lh_practitioner": token})


async def send(web: TestClient, page: str, data: dict[str, str], path: str) -> Any:
    opened = await web.get(page, headers=HTML)
    assert opened.status == 200, await opened.text()
    fields = {"csrf_token": csrf(await opened.text()), **data}
    return await web.post(path, data=fields, allow_redirects=False, headers=HTML)


async def records(sessions: async_sessionmaker[AsyncSession]) -> list[TeamDiscussion]:
    async with sessions() as session:
        return list(await session.scalars(select(TeamDiscussion)))


async def mail_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(MailMessage)) or 0)


async def all_sent(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Every email's outcome written: the clock may then move on without a lease running out
    under a message being sent."""
    async with sessions() as session:
        statuses = set(await session.scalars(select(MailMessage.status)))
    return statuses <= {MailStatus.sent.value}


async def the_email(smtp: SmtpServer, before: int, to: str) -> Received:
    message = (await smtp.received(before + 1))[-1]
    assert message.recipients == (to,)
    return message


async def test_a_practitioner_records_a_discussion_and_updates_its_actions_by_the_email(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    smtp_server: SmtpServer,
) -> None:
    brief_id = await brief(web, publisher, clock, title="Safer sleep: Baby T")
    await sign_in_practitioner(web, sessions, "hv@nhs.net", clock.now)
    page = await web.get(f"/discussions/new?brief={brief_id}", headers=HTML)
    html = await page.text()
    assert page.status == 200 and "Record a team discussion" in html
    assert "Safer sleep: Baby T" in html and 'name="actions-2-what"' in html
    assert 'name="actions-3-what"' not in html and "Add another action" in html

    before = len(smtp_server.messages)
    data = good(
        brief_id,
        **{
            "actions-2-what": "Brief the night team",
            "actions-2-owner_role": "Deputy",
            "actions-2-due_on-day": "3",
            "actions-2-due_on-month": "12",
            "actions-2-due_on-year": "2026",
        },
    )
    saved = await send(web, f"/discussions/new?brief={brief_id}", data, "/discussions")
    assert saved.status == 303 and saved.headers["Location"] == "/discussions/recorded"
    assert "Team discussion recorded" in await (await web.get("/discussions/recorded")).text()

    [record] = await records(sessions)
    assert (record.team, record.agency, record.borough, record.practitioners) == (
        TEAM,
        "health-visiting",
        "knowsley",
        8,
    )
    assert record.recorder == "practitioner" and record.recorder_email == "hv@nhs.net"
    assert (
        record.held_on.isoformat() == "2026-12-01" and record.brief_title == "Safer sleep: Baby T"
    )
    assert [a.what for a in record.actions] == [
        "Add safer sleep to the contact checklist",
        "Brief the night team",
    ]
    assert [a.status for a in record.actions] == ["open", "open"]

    message = await the_email(smtp_server, before, "hv@nhs.net")
    assert message.parsed()["Subject"] == "Team discussion recorded: Safer sleep: Baby T"
    path = link(message, "/discussions/")
    token = path.removeprefix("/discussions/")
    assert record.token_hash == hash_token(token) and token not in str(record.token_hash)
    text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Brief the night team (owner: Deputy; due 3 December 2026)" in text

    web.session.cookie_jar.clear()  # the link works for whoever holds it, signed in or not
    shown = await web.get(path, headers=HTML)
    html = await shown.text()
    assert shown.status == 200 and TEAM in html and "Health visiting" in html
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert 'id="status-1" name="status-1" type="radio" value="open" checked' in html
    fields = {"csrf_token": csrf(html), "status-1": "done", "status-2": "dropped"}
    updated = await web.post(path, data=fields, allow_redirects=False, headers=HTML)
    assert updated.status == 303 and updated.headers["Location"] == f"{path}?saved=1"
    again = await (await web.get(updated.headers["Location"], headers=HTML)).text()
    assert "The status of the actions has been saved." in again
    assert 'value="done" checked' in again and 'value="dropped" checked' in again
    async with sessions() as session:
        actions = list(await session.scalars(select(DiscussionAction).order_by("position")))
    assert [(a.status, a.status_changed_at) for a in actions] == [
        ("done", clock.now),
        ("dropped", clock.now),
    ]

    bad = await web.post(
        path, data={"csrf_token": csrf(html), "status-1": "finished"}, headers=HTML
    )
    text = await bad.text()
    assert bad.status == 422 and '<a href="#status-1">Select the status of action 1</a>' in text
    assert 'id="status-1-error"' in text


async def test_a_subscriber_records_through_the_signed_link_for_the_brief(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    smtp_server: SmtpServer,
) -> None:
    brief_id = await brief(web, publisher, clock)
    async with sessions.begin() as session:
        # Weekly: no alert of the brief races the email this test waits for.
        subscriber = await person(session, "teacher@school.example.org", "weekly", since=clock.now)
    url = web.app[links_key].discuss(subscriber, uuid.UUID(brief_id))
    path = url[url.index("/discussions/") :]
    page = await web.get(path, headers=HTML)
    html = await page.text()
    assert page.status == 200 and 'name="token"' in html
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "Practitioner sign in" in html  # the link signs nobody in

    before = len(smtp_server.messages)
    saved = await send(web, path, good("ignored", token=path.rsplit("/", 1)[1]), "/discussions")
    assert saved.status == 303
    [record] = await records(sessions)
    assert (record.recorder, record.recorder_email) == ("subscriber", "teacher@school.example.org")
    assert str(record.brief_id) == brief_id  # the token's brief, whatever the form said
    message = await the_email(smtp_server, before, "teacher@school.example.org")
    assert link(message, "/discussions/")

    # Links of another purpose, forged, revoked or expired: a clear page, nothing stored.
    manage = web.app[links_key].token(subscriber, Purpose.manage)
    for token in (manage, "not-a-token", path.rsplit("/", 1)[1][:-2] + "xx"):
        refused = await web.get(f"/discussions/new/{token}", headers=HTML)
        assert refused.status == 404
        assert "This link can&#39;t be used" in await refused.text()
    async with sessions.begin() as session:
        await session.execute(update(Subscriber).values(token_version=Subscriber.token_version + 1))
    revoked = await web.get(path, headers=HTML)
    assert revoked.status == 404 and "This link no longer works" in await revoked.text()
    async with sessions.begin() as session:
        await session.execute(update(Subscriber).values(token_version=Subscriber.token_version - 1))
    assert (await web.get(path, headers=HTML)).status == 200
    await until(lambda: all_sent(sessions), within=10, what="the mail recorded as sent")
    clock.advance(days=91)
    expired = await web.get(path, headers=HTML)
    assert expired.status == 404 and "Links to record a team discussion last 90 days" in (
        await expired.text()
    )
    posted = await send(
        web, "/subscribe", good(brief_id, token=path.rsplit("/", 1)[1]), "/discussions"
    )
    assert posted.status == 404 and len(await records(sessions)) == 1


async def test_a_subscriber_link_opens_a_restricted_brief_only_to_a_practitioner_sent_it(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    smtp_server: SmtpServer,
) -> None:
    async with sessions.begin() as session:
        sent = await person(session, "sent@nhs.net", since=clock.now)
        elsewhere = await person(session, "other@nhs.net", since=clock.now, themes=["housing"])
        outsider = await person(session, "parent@gmail.com", since=clock.now)
    brief_id = await publish(web, publisher, title="Public at first", themes=["safer-sleep"])
    await smtp_server.received(2)  # the alerts to sent@ and the outsider

    async def delivered() -> bool:
        async with sessions() as session:
            statuses = await session.scalars(select(MailMessage.status))
            return list(statuses).count(MailStatus.sent.value) == 2

    await until(delivered, within=10, what="both alerts recorded as sent")
    narrowed = await web.patch(
        f"/api/v1/briefs/{brief_id}",
        headers=publisher,
        json={"audience": "practitioners", "title": "Restricted now"},
    )
    assert narrowed.status == 200, await narrowed.text()
    links = web.app[links_key]

    def path(who: Subscriber) -> str:
        url = links.discuss(who, uuid.UUID(brief_id))
        return url[url.index("/discussions/") :]

    allowed = await web.get(path(sent), headers=HTML)
    assert allowed.status == 200 and "Restricted now" in await allowed.text()
    for who in (elsewhere, outsider):  # not sent it; sent it only while it was public
        refused = await web.get(path(who), headers=HTML)
        html = await refused.text()
        assert refused.status == 403 and "Sign in to record a team discussion" in html
        assert "Restricted now" not in html and "Public at first" not in html


async def test_staff_record_in_the_console_and_others_are_sent_to_sign_in(
    web: TestClient,
    publisher: dict[str, str],
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    smtp_server: SmtpServer,
) -> None:
    brief_id = await brief(web, publisher, clock, title="Staff only", audience="practitioners")
    away = await web.get(f"/staff/discussions/new?brief={brief_id}", allow_redirects=False)
    assert away.status == 303 and away.headers["Location"] == "/staff/sign-in"
    await sign_in(web, smtp_server, PUBLISHER)
    console = await (await web.get(f"/staff/briefs/{brief_id}")).text()
    assert f'href="/staff/discussions/new?brief={brief_id}">Record a team discussion' in console
    page = f"/staff/discussions/new?brief={brief_id}"
    html = await (await web.get(page, headers=HTML)).text()
    assert "Staff only" in html and 'action="/staff/discussions"' in html and "Sign out" in html
    before = len(smtp_server.messages)
    saved = await send(web, page, good(brief_id), "/staff/discussions")
    assert saved.status == 303 and saved.headers["Location"] == "/staff/discussions/recorded"
    assert "Team discussion recorded" in await (await web.get(saved.headers["Location"])).text()
    [record] = await records(sessions)
    assert (record.recorder, record.recorder_email) == ("staff", PUBLISHER)
    assert link(await the_email(smtp_server, before, PUBLISHER), "/discussions/")


async def test_an_anonymous_visitor_is_refused_and_nothing_is_stored(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    public = await brief(web, publisher, clock, title="Open brief")
    restricted = await publish(web, publisher, title="Closed brief", audience="practitioners")
    for brief_id in (public, restricted):
        page = await web.get(f"/discussions/new?brief={brief_id}", headers=HTML)
        html = await page.text()
        assert page.status == 403 and "Sign in to record a team discussion" in html
        assert "Open brief" not in html and "Closed brief" not in html
        assert f"next=%2Fdiscussions%2Fnew%3Fbrief%3D{brief_id}" in html
        posted = await send(web, "/subscribe", good(brief_id), "/discussions")
        assert posted.status == 403
    assert await records(sessions) == [] and await mail_count(sessions) == 0
    # A form post without its CSRF field is refused before anything else.
    bare = await web.post("/discussions", data=good(public), headers=HTML)
    assert bare.status == 403 and "came from another site" in await bare.text()


async def test_unknown_withdrawn_and_restored_briefs(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    await sign_in_practitioner(web, sessions, "gp@nhs.net", clock.now)
    for value in (str(uuid.uuid4()), "not-a-uuid", ""):
        page = await web.get(f"/discussions/new?brief={value}", headers=HTML)
        assert page.status == 404, value
    draft = await web.post(
        "/api/v1/briefs",
        headers=publisher,
        json={
            "title": "A draft",
            "summary": "S.",
            "learning_points": ["P."],
            "source": {"review": "R", "board": "B"},
        },
    )
    assert (await web.get(f"/discussions/new?brief={(await draft.json())['id']}")).status == 404

    brief_id = await brief(web, publisher, clock, title="Withdrawn one")
    withdrawn = await web.post(
        f"/api/v1/briefs/{brief_id}/withdraw",
        headers=publisher,
        json={"reason": "Superseded by a new review."},
    )
    assert withdrawn.status == 200, await withdrawn.text()
    page = await web.get(f"/discussions/new?brief={brief_id}", headers=HTML)
    html = await page.text()
    assert page.status == 410 and "This learning brief has been withdrawn" in html
    assert "Withdrawn one" in html and "Superseded by a new review." in html
    posted = await send(web, "/", good(brief_id), "/discussions")
    assert posted.status == 410
    restored = await web.post(f"/api/v1/briefs/{brief_id}/restore", headers=publisher)
    assert restored.status == 200
    page = await web.get(f"/discussions/new?brief={brief_id}", headers=HTML)
    assert page.status == 410 and "Withdrawn one" not in await page.text()
    assert await records(sessions) == []


BAD = [
    (
        {"held_on-day": "", "held_on-month": "", "held_on-year": ""},
        "held_on-day",
        "Enter the date the discussion was held",
    ),
    (
        {"held_on-day": "31", "held_on-month": "2"},
        "held_on-day",
        "The date the discussion was held must be a real date",
    ),
    (
        {"held_on-day": "4"},
        "held_on-day",
        "The date the discussion was held must be today or in the past",
    ),
    (
        {"held_on-day": "22", "held_on-month": "11"},
        "held_on-day",
        "must be on or after 23 November 2026, when the brief was published",
    ),
    ({"team": ""}, "team", "Enter the team or service name"),
    ({"team": "x" * 201}, "team", "Team or service name must be 200 characters or fewer"),
    ({"team": "Line\nbreak"}, "team", "Team or service name must be one line"),
    ({"agency": "police-scotland"}, "agency", "Select the team&#39;s agency from the list"),
    ({"borough": "manchester"}, "borough", "Select the borough the team works in"),
    ({"practitioners": ""}, "practitioners", "Enter the number of practitioners present"),
    ({"practitioners": "0"}, "practitioners", "must be between 1 and 500"),
    ({"practitioners": "-3"}, "practitioners", "must be between 1 and 500"),
    ({"practitioners": "501"}, "practitioners", "must be between 1 and 500"),
    ({"practitioners": "9" * 40}, "practitioners", "must be a whole number, like 8"),
    ({"practitioners": "eight"}, "practitioners", "must be a whole number, like 8"),
    ({"reflections": ""}, "reflections", "Enter the team&#39;s reflections"),
    ({"reflections": "x" * 5001}, "reflections", "Reflections must be 5,000 characters or fewer"),
    ({"actions-1-what": ""}, "actions-1-what", "Enter what the team agreed for action 1"),
    (
        {"actions-1-owner_role": "o" * 201},
        "actions-1-owner_role",
        "Role of the owner of action 1 must be 200 characters or fewer",
    ),
    (
        {"actions-1-what": "w" * 501},
        "actions-1-what",
        "What the team agreed for action 1 must be 500 characters or fewer",
    ),
    (
        {
            "actions-1-due_on-day": "30",
            "actions-1-due_on-month": "11",
            "actions-1-due_on-year": "2026",
        },
        "actions-1-due_on-day",
        "The due date of action 1 must be on or after the date the discussion was held",
    ),
    (
        {"actions-1-due_on-year": "2031"},
        "actions-1-due_on-day",
        "The due date of action 1 must be within 3 years of the discussion",
    ),
    (
        {"actions-1-due_on-day": ""},
        "actions-1-due_on-day",
        "The due date of action 1 must be a real date",
    ),
    ({"actions-21-what": "One too many"}, "actions-2-what", "You can record up to 20 actions"),
]


async def test_every_bad_input_is_a_form_error_naming_its_field_and_nothing_is_written(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    brief_id = await brief(web, publisher, clock)
    await sign_in_practitioner(web, sessions, "gp@nhs.net", clock.now)
    page = f"/discussions/new?brief={brief_id}"
    for changes, field, message in BAD:
        answer = await send(web, page, good(brief_id, **changes), "/discussions")
        html = await answer.text()
        assert answer.status == 422, (changes, html[:300])
        assert "<title>Error: Record a team discussion" in html
        summary = re.search(rf'<li><a href="#{field}">([^<]*)</a></li>', html)
        assert summary and message in summary.group(1), (changes, field)
        assert f'id="{field}-error"' in html or f'id="{field.removesuffix("-day")}' in html
        assert f'id="{field}"' in html, field  # the summary's link lands on a field
        if changes.get("team", "").startswith("x"):
            assert f'value="{"x" * 201}"' in html  # the form comes back filled in
        assert 'value="Kirkby health visiting team"' in html or "team" in changes
        assert 'value="health-visiting" selected' in html or "agency" in changes
    assert await records(sessions) == [] and await mail_count(sessions) == 0

    # Every error at once, each in the summary and beside its field.
    everything = {
        "held_on-year": "",
        "team": "",
        "agency": "",
        "borough": "",
        "practitioners": "",
        "reflections": "",
        "actions-1-owner_role": "",
    }
    html = await (await send(web, page, good(brief_id, **everything), "/discussions")).text()
    for field in (
        "held_on-day",
        "team",
        "agency",
        "borough",
        "practitioners",
        "reflections",
        "actions-1-owner_role",
    ):
        assert f'<a href="#{field}">' in html and f'id="{field}-error"' in html, field


async def test_add_another_action_posts_back_the_form_with_one_more_row(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    brief_id = await brief(web, publisher, clock)
    await sign_in_practitioner(web, sessions, "gp@nhs.net", clock.now)
    page = f"/discussions/new?brief={brief_id}"
    more = await send(web, page, {**good(brief_id, team=""), "add_action": "1"}, "/discussions")
    html = await more.text()
    assert (
        more.status == 200 and 'name="actions-3-what"' in html and 'name="rows" value="3"' in html
    )
    assert 'value="Add safer sleep to the contact checklist"' in html
    assert "There is a problem" not in html  # adding a row is not a submission
    full = await send(web, page, {**good(brief_id, rows="20"), "add_action": "1"}, "/discussions")
    html = await full.text()
    assert 'name="actions-20-what"' in html and 'name="actions-21-what"' not in html
    assert "Add another action" not in html
    assert await records(sessions) == []
    # No actions at all is a record too.
    blank = {
        "actions-1-what": "",
        "actions-1-owner_role": "",
        "actions-1-due_on-day": "",
        "actions-1-due_on-month": "",
        "actions-1-due_on-year": "",
    }
    assert (await send(web, page, good(brief_id, **blank), "/discussions")).status == 303
    [record] = await records(sessions)
    assert record.actions == []


async def test_nothing_of_a_record_is_public(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    smtp_server: SmtpServer,
) -> None:
    brief_id = await brief(web, publisher, clock)
    await sign_in_practitioner(web, sessions, "gp@nhs.net", clock.now)
    reflections = "Unmistakable reflections 7c1f"
    saved = await send(
        web,
        f"/discussions/new?brief={brief_id}",
        good(brief_id, reflections=reflections),
        "/discussions",
    )
    assert saved.status == 303
    brief_page = await (await web.get(f"/briefs/{brief_id}")).text()
    assert f'href="/discussions/new?brief={brief_id}">Record a team discussion' in brief_page
    web.session.cookie_jar.clear()
    for path in (
        "/",
        f"/briefs/{brief_id}",
        "/feeds/briefs.atom",
        "/feeds/briefs.rss",
        f"/api/v1/briefs/{brief_id}",
        "/api/v1/briefs",
        "/discussions/recorded",
    ):
        body = await (await web.get(path)).text()
        assert TEAM not in body and reflections not in body, path
    assert (await web.get("/discussions", headers=HTML)).status == 405
    forged = await web.get("/discussions/" + secrets.token_urlsafe(32), headers=HTML)
    assert forged.status == 404 and "This link can&#39;t be used" in await forged.text()
    posted = await web.post(
        "/discussions/" + secrets.token_urlsafe(32), data={"status-1": "done"}, headers=HTML
    )
    assert posted.status == 403  # no CSRF field: refused before the token is looked at


def test_discussion_tokens_are_cut_short_in_the_access_log() -> None:
    token = secrets.token_urlsafe(32)
    assert redact(f"/discussions/{token}?saved=1") == f"/discussions/{token[:6]}…?saved=1"
    assert redact(f"/discussions/new/{token}") == f"/discussions/new/{token[:6]}…"
    assert redact("/discussions/new?brief=5f0c6f5c") == "/discussions/new?brief=5f0c6f5c"


async def test_a_recorders_records_are_in_their_export_and_erasing_them_keeps_the_record(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    brief_id = await brief(web, publisher, clock)
    await sign_in_practitioner(web, sessions, "gp@nhs.net", clock.now)
    saved = await send(web, f"/discussions/new?brief={brief_id}", good(brief_id), "/discussions")
    assert saved.status == 303
    async with sessions.begin() as session:
        [held] = await discussions.held_for(session, "gp@nhs.net")
        assert held["team"] == TEAM and held["actions"][0]["status"] == "open"  # type: ignore[index]
        assert "token" not in str(held) and await discussions.held_for(session, "x@nhs.net") == []
        await discussions.forget(session, "gp@nhs.net")
    [record] = await records(sessions)
    assert record.recorder_email == discussions.ERASED and record.team == TEAM


async def test_an_alert_carries_the_persons_own_link_to_record_a_discussion(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    smtp_server: SmtpServer,
) -> None:
    async with sessions.begin() as session:
        await person(session, "school.nurse@nhs.net", since=clock.now)
    brief_id = await publish(web, publisher, title="Safer sleep: Baby T")
    [alert] = await smtp_server.received(1)
    text = alert.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Record your team's discussion of it: http" in text
    path = link(alert, "/discussions/new/")

    # Moved on only once the alert's outcome is written, so its lease can't run out under it.
    await until(lambda: all_sent(sessions), within=10, what="the alert recorded as sent")
    clock.advance(days=2)
    page = await web.get(path, headers=HTML)
    assert page.status == 200 and "Safer sleep: Baby T" in await page.text()
    data = good(brief_id, **{"held_on-day": "24", "held_on-month": "11"})
    saved = await send(web, path, {**data, "token": path.rsplit("/", 1)[1]}, "/discussions")
    assert saved.status == 303
    [record] = await records(sessions)
    assert (record.recorder, record.recorder_email) == ("subscriber", "school.nurse@nhs.net")
    message = await the_email(smtp_server, 1, "school.nurse@nhs.net")
    assert message.parsed()["Subject"] == "Team discussion recorded: Safer sleep: Baby T"


async def test_a_subscribers_export_carries_their_records_and_erasure_unnames_them(
    web: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    """Found in review: held_for and forget existed but neither the export nor erasure called
    them, so a subscriber's export left out the records they made, and erasing them left
    their address on each record."""
    brief_id = await brief(web, publisher, clock)
    async with sessions.begin() as session:
        subscriber = await person(session, "gp@nhs.net", since=clock.now)
    token = web.server.app[links_key].manage_api(subscriber).rsplit("/", 1)[1]
    await sign_in_practitioner(web, sessions, "gp@nhs.net", clock.now)
    saved = await send(web, f"/discussions/new?brief={brief_id}", good(brief_id), "/discussions")
    assert saved.status == 303

    exported = await web.get(f"/api/v1/subscriptions/{token}/export")
    assert exported.status == 200
    [held] = (await exported.json(content_type=None))["team_discussions"]
    assert held["team"] == TEAM and held["brief_id"] == brief_id

    erased = await web.post(f"/api/v1/subscriptions/{token}/erase")
    assert erased.status == 204, await erased.text()
    [record] = await records(sessions)
    assert record.recorder_email == discussions.ERASED and record.team == TEAM
