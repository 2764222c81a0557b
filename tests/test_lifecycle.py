"""Every cell of docs/lifecycle.md, through HTTP, the dispatcher, a real SMTP server and feedparser.

Each move is played from the state it starts in, with four subscribers (an outsider and a
practitioner, immediate and daily), a practitioner group and a public group with feeds, a
signed-in practitioner and an anonymous reader. Then every surface is looked at, and each
cell's check is run. ``test_every_cell_has_a_check`` holds the page and the checks together.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from digests.service import run_digest
from learnhub.keys import dispatcher_key
from learnhub.schedule import digests_of
from service.mail.models import MailMessage
from service.mail.queries import sent_counts
from tests import factories
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.digests.conftest import drain, quiet
from tests.smtp import Received, SmtpServer
from tests.subscribers.conftest import mail_settings, smtp_server
from tests.web.helpers import practitioner_cookie

__all__ = ["mail_settings", "quiet", "smtp_server"]
DOC = Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
OUT, PRAC, OUT_DAILY, PRAC_DAILY = (
    "reader@gmail.com",
    "hv@nhs.net",
    "daily@gmail.com",
    "daily.hv@nhs.net",
)
TITLE = "Lifecycle brief Quokka"  # the word only this brief has, to search for
OTHER = "Other learning Wombat"
REASON = "Superseded by the 2026 review."
NOTE = "Internal: legal asked us to take it down."


def cells() -> dict[tuple[str, str], str]:
    """The table of docs/lifecycle.md: (move, surface) -> what should happen."""
    found = {}
    table = DOC.read_text().split("## The table", 1)[1].split("\n## ", 1)[0]
    for line in table.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) == 3 and parts[0] not in ("move", "---"):
            found[parts[0], parts[1]] = parts[2]
    return found


@dataclass
class Seen:
    """Everything a move left on every surface, for one brief."""

    anyone_page: tuple[int, str]
    practitioner_page: tuple[int, str]
    api: int
    listed: bool
    found_by_anyone: bool
    found_by_practitioner: bool
    in_public_feed: bool
    public_feed_moved: bool
    in_practitioner_group_feed: bool
    in_public_group_feed: bool
    mail: list[Received]  # what arrived during the move
    future_digest: dict[str, bool]  # who finds the brief in the next digest
    reach: int
    staff_history: list[str]
    publication: int

    def got(self, who: str, kind: str | None = None) -> list[str]:
        """Subjects of the mail ``who`` received during the move (starting with ``kind``)."""
        subjects = [str(m.parsed()["Subject"]) for m in self.mail if who in m.recipients]
        return [s for s in subjects if kind is None or s.startswith(kind)]

    def summary(self) -> str:
        """What was seen, in short, for a failure's message."""
        mail = {who: self.got(who) for who in (OUT, PRAC, OUT_DAILY, PRAC_DAILY)}
        digests = {who: TITLE in self.text_to(who) for who in (OUT_DAILY, PRAC_DAILY)}
        return (
            f"pages {self.anyone_page[0]}/{self.practitioner_page[0]} api {self.api} "
            f"listed {self.listed} found {self.found_by_anyone}/{self.found_by_practitioner} "
            f"feed {self.in_public_feed} moved {self.public_feed_moved} groups "
            f"{self.in_practitioner_group_feed}/{self.in_public_group_feed} mail {mail} "
            f"pending digests carry it {digests} next digest {self.future_digest} "
            f"reach {self.reach} history {self.staff_history}"
        )

    def text_to(self, who: str) -> str:
        return "\n".join(_text(m) for m in self.mail if who in m.recipients)


def _text(message: Received) -> str:
    part = message.parsed().get_body(("plain",))
    assert part is not None
    return str(part.get_content())


class World:
    def __init__(
        self, client: TestClient, staff: dict[str, str], admin: dict[str, str], clock: Clock
    ) -> None:
        self.client, self.staff, self.admin, self.clock = client, staff, admin, clock
        self.app: Any = client.server.app
        self.practitioner: dict[str, str] = {}
        self.group_feeds: dict[str, str] = {}
        self.feed_before: tuple[str, str] = ("", "")

    async def setup(self, sessions: Any) -> None:
        async with sessions.begin() as session:
            await factories.person(session, OUT, "immediate", since=SINCE)
            await factories.person(session, PRAC, "immediate", since=SINCE)
            await factories.person(session, OUT_DAILY, "daily", since=SINCE)
            await factories.person(session, PRAC_DAILY, "daily", since=SINCE)
        self.practitioner = await practitioner_cookie(sessions, "reader@nhs.net", self.clock())
        for name, restricted in (("practitioners", True), ("everyone", False)):
            body = {"name": f"Team {name}", "themes": [], "agencies": [], "boroughs": [],
                    "practitioners_only": restricted}  # fmt: skip
            group = await self.json("POST", "/api/v1/groups", body, self.admin, 201)
            token = await self.json(
                "POST", f"/api/v1/groups/{group['id']}/feed-token", None, self.admin, 200
            )
            self.group_feeds[name] = str(token["feed_url"]).split("8080", 1)[1]

    async def json(
        self, method: str, path: str, body: Any, headers: dict[str, str], status: int
    ) -> Any:
        response = await self.client.request(method, path, json=body, headers=headers)
        assert response.status == status, await response.text()
        return await response.json()

    def at(self, when: str) -> None:
        self.clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)

    async def create(self, title: str, audience: str = "public") -> str:
        body = brief_body(title=title, audience=audience)
        return str((await self.json("POST", "/api/v1/briefs", body, self.staff, 201))["id"])

    async def move(self, brief: str, action: str, body: Any = None) -> None:
        await self.json("POST", f"/api/v1/briefs/{brief}/{action}", body, self.staff, 200)

    async def edit(self, brief: str, **fields: Any) -> None:
        await self.json("PATCH", f"/api/v1/briefs/{brief}", fields, self.staff, 200)

    async def dispatch_only(self) -> None:
        """Handle events (mail is queued) without sending anything."""
        while await self.app[dispatcher_key].run_once():
            pass

    async def queue_digest(self, when: str) -> None:
        """Build and queue the daily digest due at ``when``, sending nothing yet."""
        self.at(when)
        await run_digest(digests_of(self.app), "daily", self.clock(), now=self.clock())

    async def feed(self) -> tuple[str, str, bytes]:
        response = await self.client.get("/feeds/briefs.atom")
        assert response.status == 200
        body = await response.read()
        return response.headers["ETag"], response.headers["Last-Modified"], body

    async def before_move(self) -> None:
        etag, modified, _ = await self.feed()
        self.feed_before = (etag, modified)
        self.mail_before = len(self.smtp.messages)

    smtp: SmtpServer
    mail_before: int = 0

    async def seen(self, brief: str, sessions: Any, *, next_digest: str) -> Seen:
        await drain(self.app)
        mail = self.smtp.messages[self.mail_before :]
        anyone = await self.client.get(f"/briefs/{brief}")
        practitioner = await self.as_practitioner(f"/briefs/{brief}")
        api = await self.client.get(f"/api/v1/briefs/{brief}")
        listed = await (await self.client.get("/api/v1/briefs?limit=100")).json()
        etag, modified, body = await self.feed()
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0
        groups = {}
        for name, path in self.group_feeds.items():
            group = feedparser.parse(await (await self.client.get(path)).read())
            groups[name] = any(brief in e.id for e in group.entries)
        staff = await self.json("GET", f"/api/v1/briefs/{brief}", None, self.staff, 200)
        history = await self.json("GET", f"/api/v1/briefs/{brief}/history", None, self.staff, 200)
        async with sessions() as session:
            reach = (await sent_counts(session, [uuid.UUID(brief)])).get(uuid.UUID(brief), 0)
        seen = Seen(
            anyone_page=(anyone.status, await anyone.text()),
            practitioner_page=(practitioner.status, await practitioner.text()),
            api=api.status,
            listed=any(item["id"] == brief for item in listed["items"]),
            found_by_anyone=await self.found(False),
            found_by_practitioner=await self.found(True),
            in_public_feed=any(brief in e.id for e in parsed.entries),
            public_feed_moved=(etag, modified) != self.feed_before,
            in_practitioner_group_feed=groups["practitioners"],
            in_public_group_feed=groups["everyone"],
            mail=mail,
            future_digest={},
            reach=reach,
            staff_history=[h["action"] for h in history["items"]],
            publication=staff["publication"],
        )
        seen.future_digest = await self.next_digest(staff["title"], next_digest)
        return seen

    async def as_practitioner(self, path: str) -> Any:
        """A page as the signed-in practitioner sees it; the session's cookie, which the site
        renews on each page, is not kept for the anonymous reader's next request."""
        response = await self.client.get(path, headers=self.practitioner)
        await response.read()
        self.client.session.cookie_jar.clear(lambda cookie: cookie.key == "lh_practitioner")
        return response

    async def found(self, practitioner: bool) -> bool:
        if practitioner:
            page = await self.as_practitioner("/?q=Quokka")
        else:
            page = await self.client.get("/?q=Quokka")
        return "/briefs/" in _results(await page.text())

    async def next_digest(self, title: str, when: str) -> dict[str, bool]:
        before = len(self.smtp.messages)
        await self.queue_digest(when)
        await drain(self.app)
        digests = [m for m in self.smtp.messages[before:] if "digest" in m.parsed()["Subject"]]
        return {
            who: any(title in _text(m) for m in digests if who in m.recipients)
            for who in (OUT_DAILY, PRAC_DAILY)
        }


def _results(html: str) -> str:
    """The list of results on the home page, without the filters and the navigation."""
    found = re.search(r"<main.*?</main>", html, re.DOTALL)
    assert found
    return re.sub(r'href="/briefs/[^"]*"[^>]*>\s*' + re.escape(OTHER), "", found.group(0))


@pytest.fixture
async def world(
    quiet: TestClient,
    publisher: dict[str, str],
    admin: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> World:
    world = World(quiet, publisher, admin, clock)
    world.smtp = smtp_server
    world.at("2026-11-23 09:00")
    await world.setup(sessions)
    other = await world.create(OTHER)
    await world.move(other, "publish")
    await drain(world.app)
    return world


# The moves, each played from the state it starts in; each returns what it left behind.
Scenario = Callable[[World, Any], Any]


async def play_create(world: World, sessions: Any) -> dict[str, Seen]:
    await world.before_move()
    world.at("2026-11-23 10:00")
    brief = await world.create(TITLE)
    return {"brief": await world.seen(brief, sessions, next_digest="2026-11-24 07:30")}


async def play_publish(world: World, sessions: Any) -> dict[str, Seen]:
    seen = {}
    for name, audience, day in (("public", "public", 24), ("restricted", "practitioners", 25)):
        world.at(f"2026-11-{day - 1} 10:00")
        brief = await world.create(TITLE, audience)
        await world.before_move()
        await world.move(brief, "publish")
        seen[name] = await world.seen(brief, sessions, next_digest=f"2026-11-{day} 07:30")
        await world.move(brief, "withdraw")  # out of the way of the next one
        await drain(world.app)
    return seen


async def _published(world: World, audience: str = "public", day: int = 24) -> str:
    """A brief published the day before ``day``, its alerts sent; the daily digest of
    ``day`` queued with it (and the other brief), not yet sent."""
    world.at(f"2026-11-{day - 1} 10:00")
    brief = await world.create(TITLE, audience)
    await world.move(brief, "publish")
    await drain(world.app)
    await world.queue_digest(f"2026-11-{day} 07:30")
    return brief


def _next(day: int) -> str:
    return f"2026-11-{day + 1} 07:30"


async def play_minor_edit(world: World, sessions: Any) -> dict[str, Seen]:
    brief = await _published(world)
    await world.before_move()
    world.at("2026-11-24 08:00")
    await world.edit(brief, summary="A corrected summary about Quokka, the minor one.")
    return {"brief": await world.seen(brief, sessions, next_digest="2026-11-25 07:30")}


async def play_significant_edit(world: World, sessions: Any) -> dict[str, Seen]:
    brief = await _published(world)
    await world.before_move()
    world.at("2026-11-24 08:00")
    await world.edit(
        brief, summary="New findings on Quokka.", significant=True, change_note="Findings added"
    )
    return {"brief": await world.seen(brief, sessions, next_digest="2026-11-25 07:30")}


async def play_narrow(world: World, sessions: Any) -> dict[str, Seen]:
    seen = {}
    for significant, day in ((False, 24), (True, 27)):
        brief = await _published(world, day=day)
        # An update is queued to both immediate subscribers, not sent, when the brief narrows.
        world.at(f"2026-11-{day} 07:40")
        await world.edit(brief, summary="Update.", significant=True, change_note="Updated")
        await world.dispatch_only()
        await world.before_move()
        world.at(f"2026-11-{day} 08:00")
        fields: dict[str, Any] = {"audience": "practitioners", "title": "Restricted Quokka"}
        if significant:
            fields |= {"significant": True, "change_note": "Restricted now"}
        await world.edit(brief, **fields)
        name = "significant" if significant else "minor"
        seen[name] = await world.seen(brief, sessions, next_digest=_next(day))
        await world.move(brief, "withdraw")
        await drain(world.app)
        world.smtp.messages.clear()
    return seen


async def play_widen(world: World, sessions: Any) -> dict[str, Seen]:
    seen = {}
    for significant, day in ((False, 24), (True, 27)):
        brief = await _published(world, "practitioners", day)
        await world.before_move()
        world.at(f"2026-11-{day} 08:00")
        fields: dict[str, Any] = {"audience": "public"}
        if significant:
            fields |= {"significant": True, "change_note": "Public now"}
        await world.edit(brief, **fields)
        name = "significant" if significant else "minor"
        seen[name] = await world.seen(brief, sessions, next_digest=_next(day))
        await world.move(brief, "withdraw")
        await drain(world.app)
        world.smtp.messages.clear()
    return seen


async def _withdrawn(world: World, audience: str, day: int = 24) -> str:
    brief = await _published(world, audience, day)
    # An update is queued to the immediate subscribers, not sent, when the brief goes.
    world.at(f"2026-11-{day} 07:40")
    await world.edit(brief, summary="Update.", significant=True, change_note="Updated")
    await world.dispatch_only()
    await world.before_move()
    world.at(f"2026-11-{day} 08:00")
    await world.move(brief, "withdraw", {"reason": REASON, "note": NOTE})
    return brief


async def play_withdraw(world: World, sessions: Any) -> dict[str, Seen]:
    seen = {}
    for name, audience, day in (("public", "public", 24), ("restricted", "practitioners", 27)):
        brief = await _withdrawn(world, audience, day)
        seen[name] = await world.seen(brief, sessions, next_digest=_next(day))
        world.smtp.messages.clear()
    return seen


async def play_restore(world: World, sessions: Any) -> dict[str, Seen]:
    brief = await _withdrawn(world, "public")
    await drain(world.app)
    await world.before_move()
    world.at("2026-11-24 09:00")
    await world.move(brief, "restore")
    return {"brief": await world.seen(brief, sessions, next_digest="2026-11-25 07:30")}


async def play_republish(world: World, sessions: Any) -> dict[str, Seen]:
    brief = await _withdrawn(world, "public")
    await drain(world.app)
    world.at("2026-11-24 09:00")
    await world.move(brief, "restore")
    await world.before_move()
    world.at("2026-11-24 10:00")
    await world.move(brief, "publish")
    return {"brief": await world.seen(brief, sessions, next_digest="2026-11-25 07:30")}


SCENARIOS: dict[str, Scenario] = {
    "create": play_create,
    "publish": play_publish,
    "minor edit": play_minor_edit,
    "significant edit": play_significant_edit,
    "narrow": play_narrow,
    "widen": play_widen,
    "withdraw": play_withdraw,
    "restore": play_restore,
    "republish": play_republish,
}

Check = Callable[[dict[str, Seen]], bool]


def each(check: Callable[[Seen], bool]) -> Check:
    return lambda seen: bool(seen) and all(check(s) for s in seen.values())


def nobody_mailed(kind: str | None = None) -> Check:
    return each(lambda s: not any(s.got(who, kind) for who in (OUT, PRAC, OUT_DAILY, PRAC_DAILY)))


def no_digest_moved(s: Seen) -> bool:
    """The pending digests (made before the move) went as they were: both carry the brief."""
    digests = [m for m in s.mail if "digest" in str(m.parsed()["Subject"])]
    return all(any(TITLE in _text(m) for m in digests if who in m.recipients)
               for who in (OUT_DAILY, PRAC_DAILY))  # fmt: skip


def public(s: Seen) -> bool:
    return s.anyone_page[0] == 200 and s.api == 200 and s.listed and s.found_by_anyone


def restricted(s: Seen) -> bool:
    status, html = s.anyone_page
    hidden = TITLE not in html and "Restricted Quokka" not in html
    return status == 403 and hidden and s.api == 404 and not s.listed and not s.found_by_anyone


def gone(s: Seen) -> bool:
    return not (s.listed or s.found_by_anyone or s.found_by_practitioner or s.in_public_feed)


EXPECT: dict[str, dict[str, Check]] = {
    "create": {
        "public pages": each(lambda s: s.anyone_page[0] == 404),
        "practitioner pages": each(lambda s: s.practitioner_page[0] == 404),
        "API": each(lambda s: s.api == 404),
        "search": each(lambda s: not s.found_by_anyone and not s.found_by_practitioner),
        "public feeds": each(lambda s: not s.in_public_feed and not s.public_feed_moved),
        "group feeds": each(lambda s: not s.in_practitioner_group_feed),
        "immediate alerts": nobody_mailed(),
        "pending digests": nobody_mailed(),
        "future digests": each(lambda s: not any(s.future_digest.values())),
        "notices": nobody_mailed(),
        "reach": each(lambda s: s.reach == 0),
        "history": each(lambda s: s.staff_history == ["create"]),
    },
    "publish": {
        "public pages": lambda seen: public(seen["public"]) and restricted(seen["restricted"]),
        "practitioner pages": lambda seen: (
            seen["public"].practitioner_page[0] == 200
            and seen["restricted"].practitioner_page[0] == 200
            and "Practitioners only" in seen["restricted"].practitioner_page[1]
        ),
        "API": lambda seen: seen["public"].api == 200 and seen["restricted"].api == 404,
        "search": lambda seen: (
            seen["public"].found_by_anyone
            and not seen["restricted"].found_by_anyone
            and seen["restricted"].found_by_practitioner
        ),
        "public feeds": lambda seen: (
            seen["public"].in_public_feed
            and seen["public"].public_feed_moved
            and not seen["restricted"].in_public_feed
            and not seen["restricted"].public_feed_moved
        ),
        "group feeds": lambda seen: (
            seen["public"].in_public_group_feed
            and seen["restricted"].in_practitioner_group_feed
            and not seen["restricted"].in_public_group_feed
        ),
        "immediate alerts": lambda seen: (
            bool(seen["public"].got(OUT, "New learning brief"))
            and bool(seen["public"].got(PRAC, "New learning brief"))
            and not seen["restricted"].got(OUT)
            and bool(seen["restricted"].got(PRAC, "New learning brief"))
        ),
        "pending digests": nobody_mailed("Daily"),
        "future digests": lambda seen: (
            seen["public"].future_digest == {OUT_DAILY: True, PRAC_DAILY: True}
            and seen["restricted"].future_digest == {OUT_DAILY: False, PRAC_DAILY: True}
        ),
        "notices": nobody_mailed("Withdrawn"),
        "reach": lambda seen: seen["public"].reach == 2 and seen["restricted"].reach == 1,
        "history": each(lambda s: s.staff_history == ["create", "publish"]),
    },
    "minor edit": {
        "public pages": each(lambda s: "the minor one" in s.anyone_page[1]),
        "practitioner pages": each(lambda s: "the minor one" in s.practitioner_page[1]),
        "API": each(lambda s: s.api == 200),
        "search": each(lambda s: s.found_by_anyone),
        "public feeds": each(lambda s: s.in_public_feed),
        "group feeds": each(lambda s: s.in_public_group_feed and s.in_practitioner_group_feed),
        "immediate alerts": nobody_mailed("New"),
        "pending digests": each(no_digest_moved),
        "future digests": each(lambda s: not any(s.future_digest.values())),
        "notices": nobody_mailed("Withdrawn"),
        "reach": each(lambda s: s.reach == 4),
        "history": each(lambda s: "Minor correction" in s.anyone_page[1]),
    },
    "significant edit": {
        "public pages": each(lambda s: "Findings added" in s.anyone_page[1]),
        "practitioner pages": each(lambda s: "New findings" in s.practitioner_page[1]),
        "API": each(lambda s: s.api == 200),
        "search": each(lambda s: s.found_by_anyone),
        "public feeds": each(lambda s: s.in_public_feed and s.public_feed_moved),
        "group feeds": each(lambda s: s.in_public_group_feed and s.in_practitioner_group_feed),
        "immediate alerts": each(lambda s: bool(s.got(OUT, "Updated") and s.got(PRAC, "Updated"))),
        "pending digests": each(no_digest_moved),
        "future digests": each(lambda s: s.future_digest == {OUT_DAILY: True, PRAC_DAILY: True}),
        "notices": nobody_mailed("Withdrawn"),
        "reach": each(lambda s: s.reach == 4),
        "history": each(lambda s: "Updated" in s.anyone_page[1]),
    },
    "narrow": {
        "public pages": each(restricted),
        "practitioner pages": each(lambda s: "Practitioners only" in s.practitioner_page[1]),
        "API": each(lambda s: s.api == 404 and not s.listed),
        "search": each(lambda s: not s.found_by_anyone and s.found_by_practitioner),
        "public feeds": each(lambda s: not s.in_public_feed and s.public_feed_moved),
        "group feeds": each(lambda s: s.in_practitioner_group_feed and not s.in_public_group_feed),
        "immediate alerts": lambda seen: (
            not seen["minor"].got(OUT)
            and not seen["significant"].got(OUT)
            and seen["minor"].got(PRAC) == [f"Updated learning brief: {TITLE}"]
            and len(seen["significant"].got(PRAC)) == 2
        ),
        # The first digest held another brief too, and goes without this one; the second
        # held only this one, and goes to nobody outside the domains.
        "pending digests": lambda seen: (
            OTHER in seen["minor"].text_to(OUT_DAILY)
            and not seen["significant"].got(OUT_DAILY)
            and all(
                TITLE not in s.text_to(OUT_DAILY) and TITLE in s.text_to(PRAC_DAILY)
                for s in seen.values()
            )
        ),
        "future digests": each(lambda s: s.future_digest == {OUT_DAILY: False, PRAC_DAILY: True}),
        "notices": nobody_mailed("Withdrawn"),
        # The outsider's digest went without it; the practitioner's with it.
        "reach": each(lambda s: s.reach == 3),
        "history": each(lambda s: s.staff_history[-1] == "edit"),
    },
    "widen": {
        "public pages": each(public),
        "practitioner pages": each(
            lambda s: (
                s.practitioner_page[0] == 200 and "Practitioners only" not in s.practitioner_page[1]
            )
        ),
        "API": each(lambda s: s.api == 200 and s.listed),
        "search": each(lambda s: s.found_by_anyone),
        "public feeds": each(lambda s: s.in_public_feed and s.public_feed_moved),
        "group feeds": each(lambda s: s.in_public_group_feed),
        "immediate alerts": lambda seen: (
            not seen["minor"].got(OUT) and bool(seen["significant"].got(OUT, "Updated"))
        ),
        "pending digests": each(
            lambda s: TITLE not in s.text_to(OUT_DAILY) and TITLE in s.text_to(PRAC_DAILY)
        ),
        "future digests": lambda seen: seen["significant"].future_digest[OUT_DAILY],
        "notices": nobody_mailed("Withdrawn"),
        "reach": lambda seen: seen["minor"].reach == 2,
        "history": each(lambda s: s.staff_history[-1] == "edit"),
    },
    "withdraw": {
        "public pages": lambda seen: (
            seen["public"].anyone_page[0] == 410
            and TITLE in seen["public"].anyone_page[1]
            and REASON in seen["public"].anyone_page[1]
            and "Baby T" not in seen["public"].anyone_page[1]
            and seen["restricted"].anyone_page[0] == 410
            and TITLE not in seen["restricted"].anyone_page[1]
            and REASON not in seen["restricted"].anyone_page[1]
        ),
        "practitioner pages": each(
            lambda s: (
                s.practitioner_page[0] == 410
                and TITLE in s.practitioner_page[1]
                and REASON in s.practitioner_page[1]
            )
        ),
        "API": lambda seen: seen["public"].api == 410 and seen["restricted"].api == 404,
        "search": each(gone),
        "public feeds": lambda seen: (
            not seen["public"].in_public_feed
            and seen["public"].public_feed_moved
            and not seen["restricted"].public_feed_moved
        ),
        "group feeds": each(lambda s: not s.in_practitioner_group_feed),
        "immediate alerts": nobody_mailed("Updated"),
        # The public one's digests held another brief too, and go without it; the restricted
        # one's held only it, and are cancelled.
        "pending digests": lambda seen: (
            all(
                OTHER in seen["public"].text_to(who) and TITLE not in seen["public"].text_to(who)
                for who in (OUT_DAILY, PRAC_DAILY)
            )
            and not seen["restricted"].got(PRAC_DAILY)
        ),
        "future digests": each(lambda s: not any(s.future_digest.values())),
        "notices": lambda seen: (
            seen["public"].got(OUT) == [f"Withdrawn: {TITLE}"]
            and REASON in seen["public"].text_to(OUT)
            and seen["restricted"].got(PRAC) == [f"Withdrawn: {TITLE}"]
            and REASON in seen["restricted"].text_to(PRAC)
            and not seen["restricted"].got(OUT)
            and not any(NOTE in s.text_to(who) for s in seen.values() for who in (OUT, PRAC))
        ),
        # The immediate alerts were sent; the digests went without it.
        "reach": lambda seen: seen["public"].reach == 2 and seen["restricted"].reach == 1,
        "history": each(lambda s: s.staff_history[-1] == "withdraw"),
    },
    "restore": {
        "public pages": each(lambda s: s.anyone_page[0] == 410),
        "practitioner pages": each(lambda s: s.practitioner_page[0] == 410),
        "API": each(lambda s: s.api == 410),
        "search": each(gone),
        "public feeds": each(lambda s: not s.in_public_feed and not s.public_feed_moved),
        "group feeds": each(lambda s: not s.in_public_group_feed),
        "immediate alerts": nobody_mailed(),
        "pending digests": nobody_mailed(),
        "future digests": each(lambda s: not any(s.future_digest.values())),
        "notices": nobody_mailed(),
        "reach": each(lambda s: s.reach == 2),
        "history": each(lambda s: s.staff_history[-1] == "restore"),
    },
    "republish": {
        "public pages": each(
            lambda s: s.anyone_page[0] == 200 and "Published again" in s.anyone_page[1]
        ),
        "practitioner pages": each(lambda s: s.practitioner_page[0] == 200),
        "API": each(lambda s: s.api == 200 and s.listed and s.publication == 2),
        "search": each(lambda s: s.found_by_anyone),
        "public feeds": each(lambda s: s.in_public_feed and s.public_feed_moved),
        "group feeds": each(lambda s: s.in_public_group_feed),
        "immediate alerts": each(
            lambda s: (
                s.got(OUT) == [f"Published again: {TITLE}"]
                and s.got(PRAC) == [f"Published again: {TITLE}"]
            )
        ),
        "pending digests": nobody_mailed("Daily"),
        "future digests": each(lambda s: s.future_digest == {OUT_DAILY: True, PRAC_DAILY: True}),
        "notices": each(lambda s: "told you this brief had been withdrawn" in s.text_to(OUT)),
        # The two "Published again"; the digests are counted as they go.
        "reach": each(lambda s: s.reach == 2),
        "history": each(lambda s: s.staff_history[-2:] == ["restore", "publish"]),
    },
}


def test_every_cell_has_a_check() -> None:
    checked = {(move, surface) for move, row in EXPECT.items() for surface in row}
    assert set(cells()) == checked


@pytest.mark.parametrize("move", list(SCENARIOS))
async def test_each_cell_of_the_lifecycle(world: World, sessions: Any, move: str) -> None:
    seen = await SCENARIOS[move](world, sessions)
    table = cells()
    failed = [
        f"{surface}: {table[move, surface]}"
        for surface, check in EXPECT[move].items()
        if not check(seen)
    ]
    assert not failed, (
        "\n".join(failed) + "\n" + "\n".join(f"{name}: {s.summary()}" for name, s in seen.items())
    )


async def test_nothing_is_left_queued(world: World, sessions: Any) -> None:
    """After a withdrawal and a narrowing have been handled, no message carrying the brief is
    still waiting: each was sent, cancelled or rewritten."""
    await play_withdraw(world, sessions)
    async with sessions() as session:
        waiting = await session.scalars(
            select(MailMessage).where(MailMessage.status.in_(["pending", "sending"]))
        )
        assert list(waiting) == []
