"""Practitioner groups: admins invite, members confirm like anyone, and may leave."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from subscribers.groups import service as groups
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions.models import Subscriber
from tests.briefs_data import brief_body
from tests.smtp import SmtpServer
from tests.subscribers.conftest import link, press_button

MASH = {
    "name": "Knowsley MASH",
    "description": "The multi-agency safeguarding hub team",
    "borough": "knowsley",
    "frequency": "immediate",
    "themes": ["safer-sleep"],
    "practitioners_only": True,
}


async def test_only_admins_manage_groups(web: TestClient, publisher: dict[str, str]) -> None:
    assert (await web.post("/api/v1/groups", json=MASH, headers=publisher)).status == 403
    assert (await web.post("/api/v1/groups", json=MASH)).status == 401


async def test_group_lifecycle_and_restricted_learning(
    web: TestClient, smtp_server: SmtpServer, admin: dict[str, str]
) -> None:
    created = await web.post("/api/v1/groups", json=MASH, headers=admin)
    group = await created.json()
    assert created.status == 201 and group["practitioners_only"] is True
    duplicate = await web.post("/api/v1/groups", json=MASH, headers=admin)
    assert duplicate.status == 409
    members = f"/api/v1/groups/{group['id']}/members"
    # An address outside the practitioner domains is not invited to a practitioner group...
    outside = await web.post(members, json={"email": "volunteer@gmail.com"}, headers=admin)
    assert outside.status == 422
    assert (await outside.json())["error"]["message"] == (
        "volunteer@gmail.com is outside the practitioner domains, and Knowsley MASH is a "
        "practitioner group"
    )
    # ...but one may be a member from before the group was marked (or before their domain
    # left the setting): they must still get no restricted brief through it.
    group_path = f"/api/v1/groups/{group['id']}"
    unmark = {"practitioners_only": False}
    assert (await web.patch(group_path, json=unmark, headers=admin)).status == 200
    for email in ("hv@nhs.net", "volunteer@gmail.com"):
        added = await web.post(members, json={"email": email}, headers=admin)
        assert added.status == 202 and (await added.json())["confirmed"] is False
    mark = {"practitioners_only": True}
    assert (await web.patch(group_path, json=mark, headers=admin)).status == 200
    invites = await smtp_server.received(2)
    assert all(
        m.parsed()["Subject"].startswith("You have been added to Knowsley MASH") for m in invites
    )
    for invite in invites:
        joined = await press_button(web, link(invite, "/subscriptions/join/"))
        assert "You have joined Knowsley MASH" in await joined.text()
    listed = await (await web.get(f"/api/v1/groups/{group['id']}", headers=admin)).json()
    assert [m["confirmed"] for m in listed["members"]] == [True, True]

    restricted = brief_body(audience="practitioners")
    brief = await (await web.post("/api/v1/briefs", json=restricted, headers=admin)).json()
    await web.post(f"/api/v1/briefs/{brief['id']}/publish", headers=admin)
    alert = (await smtp_server.received(3))[2]
    # The practitioner address gets the restricted brief; the personal address does not.
    assert alert.recipients == ("hv@nhs.net",)
    assert "you are a member of Knowsley MASH" in alert.parsed().get_body(("plain",)).get_content()

    rotated = await (
        await web.post(f"/api/v1/groups/{group['id']}/feed-token", headers=admin)
    ).json()
    assert rotated["feed_url"].startswith("http://127.0.0.1:8080/feeds/groups/")
    again = await (await web.post(f"/api/v1/groups/{group['id']}/feed-token", headers=admin)).json()
    assert again["feed_url"] != rotated["feed_url"]


async def test_a_member_leaves_a_group_and_keeps_their_subscription(
    web: TestClient, smtp_server: SmtpServer, admin: dict[str, str]
) -> None:
    group = await (await web.post("/api/v1/groups", json=MASH, headers=admin)).json()
    await web.post("/api/v1/subscriptions", json={"email": "hv@nhs.net", "frequency": "weekly"})
    await press_button(web, link((await smtp_server.received(1))[0], "/subscriptions/confirm/"))
    await web.post(
        f"/api/v1/groups/{group['id']}/members", json={"email": "hv@nhs.net"}, headers=admin
    )
    joined = await press_button(
        web, link((await smtp_server.received(2))[1], "/subscriptions/join/")
    )
    manage = link_in_html(await joined.text())
    token = manage.rsplit("/", 1)[1]
    state = await (await web.get(f"/api/v1/subscriptions/{token}")).json()
    assert [g["group"] for g in state["groups"]] == ["Knowsley MASH"]
    left = await web.delete(f"/api/v1/subscriptions/{token}/groups/{group['id']}")
    after = await left.json()
    assert after["groups"] == [] and after["status"] == "active" and after["frequency"] == "weekly"


async def test_loading_a_member_does_not_load_the_rest_of_their_groups(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    async with sessions.begin() as session:
        group = Group(name="Wirral MASH", frequency="weekly", created_at=now, members=[])
        people = [
            Subscriber(email=f"p{n}@nhs.net", domain="nhs.net", created_at=now) for n in range(3)
        ]
        session.add_all([group, *people])
        await session.flush()
        session.add_all([GroupMember(group=group, subscriber=p, invited_at=now) for p in people])

    async with sessions() as session:
        one = await session.scalar(select(Subscriber).where(Subscriber.email == "p0@nhs.net"))
        assert one is not None and [m.group.name for m in one.memberships] == ["Wirral MASH"]
        # The other members came with neither the group nor anything else.
        assert "members" in inspect(one.memberships[0].group).unloaded
        assert len(session.identity_map) == 3  # p0, the membership, the group
        full = await groups.get(session, one.memberships[0].group_id)
        assert sorted(m.subscriber.email for m in full.members) == [
            "p0@nhs.net",
            "p1@nhs.net",
            "p2@nhs.net",
        ]


def link_in_html(html: str) -> str:
    start = html.index("/subscriptions/manage/")
    return html[start : html.index('"', start)]


async def test_an_erased_member_is_no_longer_named_in_the_audit_log(
    web: TestClient,
    smtp_server: SmtpServer,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The audit log named invited and removed members by address, after their erasure too."""
    group = await (await web.post("/api/v1/groups", json=MASH, headers=admin)).json()
    members = f"/api/v1/groups/{group['id']}/members"
    for email in ("hv@nhs.net", "gp@nhs.net"):
        assert (await web.post(members, json={"email": email}, headers=admin)).status == 202
    assert (await web.delete(f"{members}/hv@nhs.net", headers=admin)).status == 204
    await web.post("/api/v1/subscriptions", json={"email": "hv@nhs.net", "frequency": "weekly"})
    confirm = link((await smtp_server.received(3))[2], "/subscriptions/confirm/")
    manage = link_in_html(await (await press_button(web, confirm)).text())
    token = manage.rsplit("/", 1)[1]

    assert (await web.post(f"/api/v1/subscriptions/{token}/erase")).status == 204

    async with sessions() as session:
        events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    logged = json.dumps([(e.subject, e.details) for e in events])
    assert "hv@nhs.net" not in logged, logged
    assert "gp@nhs.net" in logged  # others stay named
    invited = [a for e in events if e.action == "members_invited" for a in e.details["emails"]]
    removed = [e.details["email"] for e in events if e.action == "member_removed"]
    assert sorted(invited) == ["erased@learnhub.invalid", "gp@nhs.net"]
    assert removed == ["erased@learnhub.invalid"]
