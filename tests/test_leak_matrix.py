"""The leak matrix: sequences of moves, every surface, three kinds of reader.

Whatever a brief says while it is restricted carries a marker word. After each move of each
sequence, everything an anonymous reader can fetch (pages, search, feeds, the API, headers
and error bodies) and everything emailed to subscribers outside the practitioner domains is
searched for the marker: it must never be there. A signed-in practitioner must find it where
the brief is theirs to read, which shows the marker would be seen if it leaked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from digests.schedule import latest_scheduled
from digests.service import run_digest
from learnhub.schedule import digests_of
from subscribers.groups.models import GroupMember
from tests import factories
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.digests.conftest import drain, quiet
from tests.smtp import SmtpServer
from tests.subscribers.conftest import mail_settings, smtp_server
from tests.web.helpers import practitioner_cookie

__all__ = ["mail_settings", "quiet", "smtp_server"]
MARK = "Nightjar"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
OUTSIDERS = ("reader@gmail.com", "digest@gmail.com", "member@gmail.com")
SECRET = {
    "title": f"Operation {MARK}: the strategy meeting",
    "summary": f"What the {MARK} strategy meeting missed.",
    "learning_points": [f"Share {MARK} information at once."],
    "themes": ["neglect"],
}
CLEAN = {
    "title": "The strategy meeting",
    "summary": "What the strategy meeting missed.",
    "learning_points": ["Share information at once."],
    "themes": ["neglect"],
}


class Reader:
    def __init__(self, client: TestClient, clock: Clock, smtp: SmtpServer) -> None:
        self.client, self.clock, self.smtp = client, clock, smtp
        self.app: Any = client.server.app
        self.practitioner: dict[str, str] = {}
        self.public_group_feed = ""
        self.brief = ""

    async def anonymous(self) -> str:
        """Everything an anonymous reader can fetch about briefs: bodies and headers."""
        paths = [
            "/",
            f"/?q={MARK.lower()}",  # the page repeats the query: in lower case, not the mark
            "/?q=strategy",
            "/?theme=neglect",
            "/taxonomy/themes",
            f"/briefs/{self.brief}",
            f"/briefs/{self.brief}/nothing",
            "/feeds/briefs.atom",
            "/feeds/briefs.rss",
            "/feeds/briefs.atom?theme=neglect",
            "/feeds/themes/neglect.atom",
            "/api/v1/briefs",
            f"/api/v1/briefs?q={MARK.lower()}",
            f"/api/v1/briefs/{self.brief}",
            f"/practitioners/sign-in?next=/briefs/{self.brief}",
            self.public_group_feed,
        ]
        seen = []
        for path in paths:
            response = await self.client.get(path)
            seen.append(
                f"{path} {response.status} {dict(response.headers)} {await response.text()}"
            )
        return "\n".join(seen)

    async def as_practitioner(self, path: str) -> str:
        response = await self.client.get(path, headers=self.practitioner)
        body = await response.text()
        self.client.session.cookie_jar.clear(lambda cookie: cookie.key == "lh_practitioner")
        return body

    def outsiders_mail(self) -> str:
        return "\n".join(
            m.content.decode("utf-8", "replace")
            for m in self.smtp.messages
            if set(m.recipients) & set(OUTSIDERS)
        )

    async def step(self) -> None:
        """Let everything the move caused happen: events, mail, the day's digest."""
        await drain(self.app)
        self.clock.advance(days=1)
        digests = digests_of(self.app)
        end = latest_scheduled(self.clock(), "daily", digests.settings)
        await run_digest(digests, "daily", end, now=self.clock())
        await drain(self.app)

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.client.request(method, path, json=body, headers=self.staff)
        assert response.status in (200, 201), await response.text()
        return await response.json()

    staff: dict[str, str]


Move = Callable[[Reader], Awaitable[None]]


def create(fields: dict[str, Any], audience: str) -> Move:
    async def move(r: Reader) -> None:
        body = brief_body(**fields, audience=audience)
        r.brief = (await r.api("POST", "/api/v1/briefs", body))["id"]

    return move


def lifecycle(action: str, body: Any = None) -> Move:
    async def move(r: Reader) -> None:
        await r.api("POST", f"/api/v1/briefs/{r.brief}/{action}", body)

    return move


def edit(**fields: Any) -> Move:
    async def move(r: Reader) -> None:
        await r.api("PATCH", f"/api/v1/briefs/{r.brief}", fields)

    return move


NOTE = {"significant": True, "change_note": f"Added the {MARK} findings."}
SEQUENCES: dict[str, list[Move]] = {
    "restricted throughout": [
        create(SECRET, "practitioners"),
        lifecycle("publish"),
        edit(summary=f"More on {MARK}.", **NOTE),
        lifecycle("withdraw", {"reason": f"{MARK} under review", "note": MARK}),
        lifecycle("restore"),
        lifecycle("publish"),
        lifecycle("withdraw"),
    ],
    "public, then narrowed": [
        create(CLEAN, "public"),
        lifecycle("publish", {"note": f"Internal: {MARK} is on hold"}),
        edit(audience="practitioners", title=SECRET["title"]),
        edit(summary=SECRET["summary"], **NOTE),
        lifecycle("withdraw", {"reason": f"{MARK} under review"}),
    ],
    "restricted, then widened": [
        create(SECRET, "practitioners"),
        lifecycle("publish"),
        edit(summary=f"More on {MARK}.", **NOTE),
        edit(audience="public", significant=True, change_note="Cleared for everyone.", **CLEAN),
        edit(summary="A minor correction."),
    ],
    "narrowed, then widened back": [
        create(CLEAN, "public"),
        lifecycle("publish"),
        edit(audience="practitioners", learning_points=SECRET["learning_points"]),
        edit(summary="Findings added while restricted.", **NOTE),
        edit(audience="public", learning_points=CLEAN["learning_points"]),
    ],
}


@pytest.fixture
async def reader(
    quiet: TestClient,
    publisher: dict[str, str],
    admin: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> Reader:
    reader = Reader(quiet, clock, smtp_server)
    reader.staff = publisher
    async with sessions.begin() as session:
        for email, frequency in (("reader@gmail.com", "immediate"), ("hv@nhs.net", "immediate"),
                                 ("digest@gmail.com", "daily")):  # fmt: skip
            await factories.person(session, email, frequency, since=SINCE)
    group = {"name": "Everyone", "themes": [], "agencies": [], "boroughs": [], "frequency": "daily"}
    response = await quiet.post("/api/v1/groups", json=group, headers=admin)
    group_id = (await response.json())["id"]
    member = {"email": "member@gmail.com"}
    added = await quiet.post(f"/api/v1/groups/{group_id}/members", json=member, headers=admin)
    assert added.status == 202, await added.text()
    async with sessions.begin() as session:  # as if they had pressed the invitation's button
        await session.execute(update(GroupMember).values(confirmed_at=SINCE))
    feed = await quiet.post(f"/api/v1/groups/{group_id}/feed-token", headers=admin)
    reader.public_group_feed = (await feed.json())["feed_url"].split("8080", 1)[1]
    reader.practitioner = await practitioner_cookie(sessions, "reader@nhs.net", clock())
    clock.now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    return reader


@pytest.mark.parametrize("name", list(SEQUENCES))
async def test_no_restricted_word_reaches_anyone_outside(reader: Reader, name: str) -> None:
    practitioner_saw_it = False
    for n, move in enumerate(SEQUENCES[name], start=1):
        reader.clock.advance(minutes=10)
        await move(reader)
        await reader.step()
        where = f"{name}, move {n}"
        assert MARK not in await reader.anonymous(), where
        assert MARK not in reader.outsiders_mail(), where
        practitioner_saw_it |= MARK in await reader.as_practitioner(f"/briefs/{reader.brief}")
    assert practitioner_saw_it
