"""Administrators manage staff in the console (issue 19, part 5): add, change a role, remove,
and the rules that keep a console someone can manage."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from service.staff.models import StaffMember, StaffSession
from service.staff.service import hash_token
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, link, sign_in
from tests.web.helpers import csrf

NEWCOMER = "new.publisher@merseyside.police.uk"


async def _member(sessions: async_sessionmaker[AsyncSession], email: str) -> StaffMember:
    async with sessions() as session:
        found = await session.scalar(select(StaffMember).where(StaffMember.email == email))
    assert found is not None
    return found


async def staff_cookie(
    sessions: async_sessionmaker[AsyncSession], email: str, now: datetime
) -> dict[str, str]:
    """Headers of a console session of ``email``, opened without the emailed link (a second
    browser; signing in itself is tests/web/test_console_auth.py's)."""
    token = secrets.token_urlsafe(32)
    member = await _member(sessions, email)
    async with sessions.begin() as session:
        session.add(
            StaffSession(
                token_hash=hash_token(token), staff_id=member.id, created_at=now, last_seen_at=now
            )
        )
    return {"Accept": "text/html", "Cookie": f"lh_staff={token}"}


async def _signed_in(client: TestClient, headers: dict[str, str]) -> bool:
    response = await client.get("/staff/briefs", headers=headers, allow_redirects=False)
    return response.status == 200


async def _audit(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.subject, e.details) for e in rows]


async def test_an_admin_adds_a_member_who_can_sign_in_and_use_the_api(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    listing = await (await web.get("/staff/members")).text()
    assert PUBLISHER in listing and ADMIN in listing and "Administrator" in listing
    assert "command-line@" not in listing
    fields = {"email": " New.Publisher@Merseyside.Police.UK ", "role": "publisher"}
    added = await form_post(web, "/staff/members/new", fields)
    assert added.status == 201, await added.text()
    html = await added.text()
    assert "new.publisher@merseyside.police.uk is now a publisher" in html
    token = re.search(r'id="api-token" type="text" value="(lh_[^"]+)"', html)
    assert token, html
    # The token is shown once: the list and the member's page never show it.
    assert token.group(1) not in await (await web.get("/staff/members")).text()
    api = await web.post(
        "/api/v1/tagging/suggest",
        json={"text": "safe sleep"},
        headers={"Authorization": f"Bearer {token.group(1)}"},
    )
    assert api.status == 200
    assert await _audit(sessions) == [("staff_added", NEWCOMER, {"role": "publisher"})]

    web.session.cookie_jar.clear()
    await sign_in(web, smtp_server, NEWCOMER)
    assert (await web.get("/staff/members")).status == 403


async def test_roles_change_and_the_last_admin_stays(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    me = (await _member(sessions, ADMIN)).id
    publisher = (await _member(sessions, PUBLISHER)).id

    # The only administrator can't make themself a publisher, nor remove themself.
    refused = await form_post(
        web, f"/staff/members/{me}", {"role": "publisher"}, path=f"/staff/members/{me}/role"
    )
    assert refused.status == 409
    html = await refused.text()
    assert "There is a problem" in html and 'href="#role"' in html
    assert "You are the only administrator" in html
    refused = await form_post(
        web, f"/staff/members/{me}/remove", {}, path=f"/staff/members/{me}/remove"
    )
    assert refused.status == 409
    assert "You are the only administrator" in await refused.text()
    assert (await _member(sessions, ADMIN)).role == "admin"
    assert (await _member(sessions, ADMIN)).removed_at is None

    promoted = await form_post(
        web, f"/staff/members/{publisher}", {"role": "admin"},
        path=f"/staff/members/{publisher}/role",
    )  # fmt: skip
    assert promoted.status == 303
    assert promoted.headers["Location"] == "/staff/members?done=role"
    assert (await _member(sessions, PUBLISHER)).role == "admin"
    # Now there are two, the first may step down; the page then answers them 403.
    stepped = await form_post(
        web, f"/staff/members/{me}", {"role": "publisher"}, path=f"/staff/members/{me}/role"
    )
    assert stepped.status == 303
    assert (await web.get("/staff/members")).status == 403
    assert [a[0] for a in await _audit(sessions)] == ["staff_role_changed"] * 2
    assert (await _audit(sessions))[1][2] == {"before": "admin", "after": "publisher"}


async def test_removing_a_member_ends_their_sessions_token_and_links(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any, clock: Clock
) -> None:
    # The publisher has a token, a console session, and an unused sign-in link.
    async with sessions.begin() as session:
        member = await session.scalar(select(StaffMember).where(StaffMember.email == PUBLISHER))
        member.token_hash = hash_token("lh_publisher-token")
    bearer = {"Authorization": "Bearer lh_publisher-token"}
    their_browser = await staff_cookie(sessions, PUBLISHER, clock.now)
    assert await _signed_in(web, their_browser)
    await form_post(web, "/staff/sign-in", {"email": PUBLISHER})
    (link_mail,) = await smtp_server.received(1)
    old_link = link(link_mail, "/staff/sign-in/")

    await sign_in(web, smtp_server, ADMIN)
    them = (await _member(sessions, PUBLISHER)).id
    confirm = await web.get(f"/staff/members/{them}/remove")
    assert confirm.status == 200 and "Remove them from staff?" in await confirm.text()
    removed = await form_post(
        web, f"/staff/members/{them}/remove", {}, path=f"/staff/members/{them}/remove"
    )
    assert removed.status == 303 and removed.headers["Location"] == "/staff/members?done=removed"
    listing = await (await web.get("/staff/members?done=removed")).text()
    assert PUBLISHER not in listing and "They have been signed out" in listing

    web.session.cookie_jar.clear()  # the publisher's browser, and nobody else's
    assert not await _signed_in(web, their_browser)
    suggest = await web.post("/api/v1/tagging/suggest", json={"text": "x"}, headers=bearer)
    assert suggest.status == 401
    assert (await web.get(old_link)).status == 404
    before = len(smtp_server.messages)
    await form_post(web, "/staff/sign-in", {"email": PUBLISHER})
    await form_post(web, "/staff/sign-in", {"email": ADMIN})
    await smtp_server.received(before + 1)
    assert [m.recipients for m in smtp_server.messages[before:]] == [(ADMIN,)]
    async with sessions() as session:
        left = select(func.count()).select_from(StaffSession).where(StaffSession.staff_id == them)
        assert await session.scalar(left) == 0
    # Their page is gone; the row stays, so the history still names them.
    assert (await _member(sessions, PUBLISHER)).removed_at == clock.now
    await sign_in(web, smtp_server, ADMIN)
    assert (await web.get(f"/staff/members/{them}")).status == 404

    # Added again, they are the same row, with a new token and the role chosen now.
    again = await form_post(web, "/staff/members/new", {"email": PUBLISHER, "role": "admin"})
    assert again.status == 201
    member = await _member(sessions, PUBLISHER)
    assert member.id == them and member.removed_at is None and member.role == "admin"
    assert [a[0] for a in await _audit(sessions)] == ["staff_removed", "staff_added"]


async def test_an_admin_who_removes_themself_is_signed_out(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    await form_post(web, "/staff/members/new", {"email": NEWCOMER, "role": "admin"})
    me = (await _member(sessions, ADMIN)).id
    confirm = await web.get(f"/staff/members/{me}/remove")
    assert "Remove yourself from staff?" in await confirm.text()
    removed = await form_post(
        web, f"/staff/members/{me}/remove", {}, path=f"/staff/members/{me}/remove"
    )
    assert removed.status == 303 and removed.headers["Location"] == "/staff/signed-out"
    response = await web.get("/staff/briefs", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/staff/sign-in"


async def test_bad_input_is_refused_whole_and_named(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    for fields, field, message in (
        ({"email": "", "role": "publisher"}, "email", "Enter their work email address"),
        ({"email": "not an address", "role": "publisher"}, "email", "correct format"),
        ({"email": "a@b", "role": "publisher"}, "email", "not a valid email address"),
        ({"email": "x" * 320 + "@nhs.net", "role": "admin"}, "email", "correct format"),
        ({"email": "x" * 250 + "@nhs.net", "role": "admin"}, "email", "too long"),
        ({"email": "a\r\nBcc: x@y.z@nhs.net", "role": "admin"}, "email", "not a valid"),
        ({"email": "zoë@nhs.net", "role": "admin"}, "email", "beyond A to Z"),
        ({"email": "someone@learnhub.invalid", "role": "admin"}, "email", "reserved"),
        ({"email": NEWCOMER, "role": "owner"}, "role", "Choose a role"),
        ({"email": NEWCOMER}, "role", "Choose a role"),
        ({"email": PUBLISHER, "role": "admin"}, "email", "already a member of staff"),
    ):
        refused = await form_post(web, "/staff/members/new", fields)
        assert refused.status == 422, fields
        html = await refused.text()
        assert "There is a problem" in html and f'href="#{field}"' in html, (fields, html)
        assert message in html, (fields, message, html)
    me = (await _member(sessions, ADMIN)).id
    bad_role = await form_post(
        web, f"/staff/members/{me}", {"role": "root"}, path=f"/staff/members/{me}/role"
    )
    assert bad_role.status == 422
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffMember)) == 2
    assert await _audit(sessions) == []

    for path in ("/staff/members/0", "/staff/members/99999", "/staff/members/99999999999"):
        assert (await web.get(path)).status == 404
    page = await web.get(f"/staff/members/{me}")
    token = csrf(await page.text())
    missing = await web.post(f"/staff/members/{me}/role", data={"role": "publisher"})
    assert missing.status == 403
    forged = await web.post(
        f"/staff/members/{me}/role", data={"role": "publisher", "csrf_token": "x" + token[1:]}
    )
    assert forged.status == 403
    assert (await _member(sessions, ADMIN)).role == "admin"


async def test_publishers_can_not_manage_staff(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    admin = (await _member(sessions, ADMIN)).id
    await sign_in(web, smtp_server, PUBLISHER)
    assert 'href="/staff/members"' not in await (await web.get("/staff/briefs")).text()
    for path in ("/staff/members", "/staff/members/new", f"/staff/members/{admin}",
                 f"/staff/members/{admin}/remove"):  # fmt: skip
        assert (await web.get(path)).status == 403, path
    token = csrf(await (await web.get("/staff/briefs")).text())
    for path, data in (
        ("/staff/members/new", {"email": "me2@nhs.net", "role": "admin"}),
        (f"/staff/members/{admin}/role", {"role": "publisher"}),
        (f"/staff/members/{admin}/remove", {}),
    ):
        response = await web.post(path, data={**data, "csrf_token": token})
        assert response.status == 403, path
    assert (await _member(sessions, ADMIN)).role == "admin"
    assert (await _member(sessions, ADMIN)).removed_at is None
    assert await _audit(sessions) == []
