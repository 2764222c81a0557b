"""Groups in the console (issue 19, part 5): changed in a form, members invited by pasting
their addresses, each address answered, the invitations sent by the group invitation's own
email, read from a real SMTP server."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from service.mail.models import MailMessage, MailSuppression
from subscribers.groups.models import Group, GroupMember
from tests.smtp import SmtpServer
from tests.subscribers.conftest import press_button
from tests.web.conftest import ADMIN, PUBLISHER, form_post, link, sign_in
from tests.web.helpers import csrf

GROUP = [
    ("name", "Sefton health visitors"),
    ("frequency", "daily"),
    ("practitioners_only", "yes"),
    ("boroughs", "sefton"),
    ("themes", "safer-sleep"),
]
ROW = re.compile(
    r'<td class="govuk-table__cell learnhub-anywhere">([^<]+)</td>\s*'
    r'<td class="govuk-table__cell"><strong class="govuk-tag [^"]+">([^<]+)</strong>'
)


async def _group(web: TestClient, fields: Any = GROUP) -> str:
    created = await form_post(web, "/staff/groups/new", fields)
    assert created.status == 303, await created.text()
    return str(created.headers["Location"].split("?")[0])


async def _paste(web: TestClient, group: str, text: str) -> Any:
    return await form_post(web, group, {"addresses": text}, path=f"{group}/members")


async def _audit(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.subject, e.details) for e in rows]


async def _members(sessions: async_sessionmaker[AsyncSession]) -> dict[str, bool]:
    async with sessions() as session:
        group = await session.scalar(select(Group).options())
        assert group is not None
        rows = await session.execute(select(GroupMember).where(GroupMember.group_id == group.id))
        return {m.subscriber.email: m.confirmed_at is not None for (m,) in rows}


async def test_the_group_is_changed_in_a_form_and_shown_in_words(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web)
    page = await (await web.get(group)).text()
    # Labels, never codes: the taxonomy's words and the frequency in words.
    assert "Safer sleep" in page and "Sefton" in page and "Daily digest" in page
    assert "safer-sleep" not in page.replace('value="safer-sleep"', "")
    assert "All agencies" in page

    form = await (await web.get(f"{group}/edit")).text()
    assert 'value="Sefton health visitors"' in form
    assert 'name="boroughs" type="checkbox" value="sefton" checked' in form
    assert re.search(r'id="practitioners_only" [^>]*checked', form)
    changed = [("name", "Sefton and Knowsley health visitors"), ("frequency", "weekly"),
               ("boroughs", "sefton"), ("boroughs", "knowsley"), ("agencies", "health"),
               ("description", "Health visiting teams")]  # fmt: skip
    saved = await form_post(web, f"{group}/edit", changed)
    assert saved.status == 303 and saved.headers["Location"] == f"{group}?done=changed"
    page = await (await web.get(f"{group}?done=changed")).text()
    assert "The group has been changed." in page
    assert "Sefton and Knowsley health visitors" in page and "Weekly digest" in page
    assert "All themes" in page and "Knowsley, Sefton" in page
    assert 'Restricted briefs</dt><dd class="govuk-summary-list__value">No' in page
    async with sessions() as session:
        stored = await session.scalar(select(Group))
    assert stored is not None
    assert (stored.name, stored.frequency, stored.practitioners_only) == (
        "Sefton and Knowsley health visitors",
        "weekly",
        False,
    )
    assert (stored.themes, stored.agencies, sorted(stored.boroughs)) == (
        [],
        ["health"],
        ["knowsley", "sefton"],
    )
    assert (await _audit(sessions))[-1] == (
        "group_changed",
        "Sefton and Knowsley health visitors",
        {"group_id": stored.id, "fields": ["name", "description", "themes", "agencies",
                                           "boroughs", "frequency", "practitioners_only"]},
    )  # fmt: skip
    unchanged = await form_post(web, f"{group}/edit", changed)
    assert unchanged.status == 303
    assert len(await _audit(sessions)) == 2  # created, changed: saving no change says nothing


async def test_bad_changes_are_refused_whole_and_named(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web)
    await _group(web, [("name", "Wirral MASH"), ("frequency", "weekly")])
    good = dict(GROUP)
    for bad, field in (
        ({**good, "name": ""}, "name"),
        ({**good, "name": "x" * 201}, "name"),
        ({**good, "name": "Two\nlines"}, "name"),
        ({**good, "name": "Wirral MASH"}, "name"),
        ({**good, "description": "d" * 2001}, "description"),
        ({**good, "frequency": "hourly"}, "frequency"),
        ({**good, "themes": "pirates"}, "themes"),
        ({**good, "boroughs": "atlantis"}, "boroughs"),
    ):
        refused = await form_post(web, f"{group}/edit", bad)
        assert refused.status == 422, bad
        html = await refused.text()
        assert "There is a problem" in html and f'href="#{field}"' in html, (bad, html)
        assert 'value="Sefton health visitors"' in html or field == "name"
    async with sessions() as session:
        stored = await session.scalar(select(Group).where(Group.id == int(group.rsplit("/")[-1])))
    assert stored is not None and stored.name == "Sefton health visitors"
    assert stored.frequency == "daily" and stored.boroughs == ["sefton"]
    assert [a[0] for a in await _audit(sessions)] == ["group_created", "group_created"]
    assert (await web.get("/staff/groups/99999/edit")).status == 404
    token = csrf(await (await web.get(f"{group}/edit")).text())
    assert (await web.post(f"{group}/edit", data={"name": "No token"})).status == 403
    forged = {"name": "Forged", "frequency": "daily", "csrf_token": "x" + token[1:]}
    assert (await web.post(f"{group}/edit", data=forged)).status == 403


async def test_publishers_can_not_change_groups_or_invite(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web)
    web.session.cookie_jar.clear()
    await sign_in(web, smtp_server, PUBLISHER)
    assert (await web.get(f"{group}/edit")).status == 403
    token = csrf(await (await web.get("/staff/briefs")).text())
    for path, data in (
        (f"{group}/edit", {"name": "Taken over", "frequency": "daily"}),
        (f"{group}/members", {"addresses": "hv@nhs.net"}),
        (f"{group}/members/again", {"email": "hv@nhs.net"}),
        (f"{group}/members/remove", {"email": "hv@nhs.net"}),
    ):
        assert (await web.post(path, data={**data, "csrf_token": token})).status == 403, path
    assert await _members(sessions) == {}
    assert [a[0] for a in await _audit(sessions)] == ["group_created"]


async def test_a_paste_invites_each_address_it_may_and_says_what_became_of_every_one(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web)
    first = await _paste(web, group, "joined@nhs.net\npending@nhs.net")
    assert first.status == 200
    invites = await smtp_server.received(3)  # the sign-in link, then two invitations
    joined = next(m for m in invites if m.recipients == ("joined@nhs.net",))
    await press_button(web, link(joined, "/subscriptions/join/"))
    async with sessions.begin() as session:
        session.add(MailSuppression(email="bounced@nhs.net", consecutive_failures=3,
                                    suspended_at=datetime.now(UTC)))  # fmt: skip
    before = len(smtp_server.messages)

    paste = (
        '"Smith, Jo" <Jo.Smith@NHS.net>; Sam Jones <sam.jones@merseyside.police.uk>, '
        "ward.sister@nhs.net\n\n  joined@nhs.net ; pending@nhs.net\n"
        "volunteer@gmail.com, not-an-address, WARD.SISTER@nhs.net, bounced@nhs.net,"
        "zoë@nhs.net"
    )
    response = await _paste(web, group, paste)
    assert response.status == 200
    html = await response.text()
    assert "3 people have been invited" in html
    results = dict(ROW.findall(html))
    assert results == {
        "not-an-address": "Not a valid address",
        "zoë@nhs.net": "Not a valid address",
        "volunteer@gmail.com": "Outside the practitioner domains",
        "bounced@nhs.net": (
            "Not invited: mail to this address is suspended after failed deliveries"
        ),
        "pending@nhs.net": "Already invited, not yet confirmed: not sent again",
        "joined@nhs.net": "Already a member",
        "jo.smith@nhs.net": "Invited",
        "sam.jones@merseyside.police.uk": "Invited",
        "ward.sister@nhs.net": "Invited",
    }
    # The ones to correct are named in the error summary and left in the box.
    assert "3 addresses were not invited" in html and 'href="#addresses"' in html
    box = re.search(r'id="addresses" name="addresses"[^>]*>([^<]*)</textarea>', html)
    assert box and box.group(1).split() == ["volunteer@gmail.com", "not-an-address", "zoë@nhs.net"]

    sent = await smtp_server.received(before + 3)
    assert sorted(m.recipients[0] for m in sent[before:]) == [
        "jo.smith@nhs.net", "sam.jones@merseyside.police.uk", "ward.sister@nhs.net"
    ]  # fmt: skip
    for message in sent[before:]:
        assert message.parsed()["Subject"] == (
            "You have been added to Sefton health visitors: please confirm"
        )
    # Rendered once for the three, each with their own link.
    assert len({link(message, "/subscriptions/join/") for message in sent[before:]}) == 3
    confirm = await press_button(web, link(sent[-1], "/subscriptions/join/"))
    assert "You have joined Sefton health visitors" in await confirm.text()
    members = await _members(sessions)
    assert set(members) == {"joined@nhs.net", "pending@nhs.net", "jo.smith@nhs.net",
                            "sam.jones@merseyside.police.uk", "ward.sister@nhs.net"}  # fmt: skip
    invited = [a for a in await _audit(sessions) if a[0] == "members_invited"]
    assert invited[-1][2]["emails"] == [
        "jo.smith@nhs.net", "sam.jones@merseyside.police.uk", "ward.sister@nhs.net"
    ]  # fmt: skip


async def test_a_paste_of_nothing_to_invite_is_an_error_and_too_long_a_paste_does_nothing(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web)
    for paste, status, message in (
        ("", 422, "Paste at least one email address"),
        (" ,;\n ", 422, "Paste at least one email address"),
        ("someone@gmail.com", 422, "1 address was not invited"),
        ("x@y", 422, "1 address was not invited"),
        ("\n".join(f"p{n}@nhs.net" for n in range(501)), 422,
         "Paste up to 500 addresses at a time; this has 501"),
        ("a" * 200_001, 422, "Paste up to 500 addresses at a time"),
    ):  # fmt: skip
        response = await _paste(web, group, paste)
        assert response.status == status, paste[:40]
        html = await response.text()
        assert "There is a problem" in html and 'href="#addresses"' in html
        assert message in html, (paste[:40], html)
    assert await _members(sessions) == {}
    async with sessions() as session:
        kinds = await session.scalars(select(MailMessage.kind))
        assert list(kinds) == ["staff_sign_in"]
    assert [a[0] for a in await _audit(sessions)] == ["group_created"]


async def test_five_hundred_addresses_at_once(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web)
    paste = ", ".join(f"person.{n}@nhs.net" for n in range(500))
    started = time.monotonic()
    response = await _paste(web, group, paste)
    took = time.monotonic() - started
    assert response.status == 200
    assert "500 people have been invited" in await response.text()
    assert took < 10, took  # 0.5 s on SQLite here: see docs/administration.md
    async with sessions() as session:
        queued = select(func.count()).where(MailMessage.kind == "group_invite")
        assert await session.scalar(queued) == 500
    assert len(await _members(sessions)) == 500
    await smtp_server.received(1 + 500, within=60)  # sent, before the app is torn down


async def test_invite_again_and_members_outside_the_domains(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    group = await _group(web, [("name", "Wirral early help"), ("frequency", "weekly")])
    await _paste(web, group, "volunteer@gmail.com\nlead@nhs.net")
    await smtp_server.received(3)
    # Marked a practitioner group afterwards: the member from another domain stays, marked.
    marked = [("name", "Wirral early help"), ("frequency", "weekly"), ("practitioners_only", "yes")]
    assert (await form_post(web, f"{group}/edit", marked)).status == 303
    page = await (await web.get(group)).text()
    assert page.count("Outside the practitioner domains: public briefs only") == 1
    assert 'Invite again<span class="govuk-visually-hidden"> lead@nhs.net' in page
    assert 'Invite again<span class="govuk-visually-hidden"> volunteer@gmail.com' not in page

    again = await form_post(web, group, {"email": "lead@nhs.net"}, path=f"{group}/members/again")
    assert again.status == 303
    assert again.headers["Location"] == f"{group}?done=invited#members"
    resent = (await smtp_server.received(4))[-1]
    assert resent.recipients == ("lead@nhs.net",)
    outside = await form_post(
        web, group, {"email": "volunteer@gmail.com"}, path=f"{group}/members/again"
    )
    assert outside.status == 422
    assert "volunteer@gmail.com is outside the practitioner domains" in await outside.text()
    garbage = await form_post(web, group, {"email": "<script>"}, path=f"{group}/members/again")
    assert garbage.status == 422
    removed = await form_post(
        web, group, {"email": "volunteer@gmail.com"}, path=f"{group}/members/remove"
    )
    assert removed.status == 303
    assert set(await _members(sessions)) == {"lead@nhs.net"}
    actions = [a[0] for a in await _audit(sessions)]
    assert actions == ["group_created", "members_invited", "group_changed", "members_invited",
                       "member_removed"]  # fmt: skip
