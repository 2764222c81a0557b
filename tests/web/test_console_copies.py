"""Nothing lost (issue 19, part 2): a post of the editor that meets an ended session is kept
and given back after signing in, to its owner only; autosave's working copies, offered back,
restored or discarded, never changing a brief."""

from __future__ import annotations

import hashlib
import re
import secrets
from html import unescape
from http.cookies import SimpleCookie
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff import copies
from service.staff.copies import EditorCopy
from service.staff.models import StaffMember, StaffSession
from service.staff.service import hash_token
from service.taxonomy import FACETS
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, link, sign_in
from tests.web.helpers import csrf, publish
from tests.web.test_console_briefs import ticked

KEPT = "Your session ended before your changes were saved; sign in and they will be back"
TEXT = {
    "title": "Bruising in babies who are not yet mobile",
    "summary": "Baby M was seen three times with bruises.\r\n\r\nNobody asked how they came.",
    "learning_points": "Bruising in a baby who is not mobile is a warning sign.\r\nAsk, and refer.",
    "source_review": "Baby M",
    "source_board": "Wirral Safeguarding Children Partnership",
    "source_day": "2",
    "source_month": "6",
    "source_year": "2025",
    "audience": "public",
}


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return unescape(found.group(1))


async def open_editor(client: TestClient, path: str = "/staff/briefs/new") -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.text()


def fields_of(html: str, **typed: str) -> list[tuple[str, str]]:
    """What the browser sends: the page's hidden fields and what was typed."""
    sent = [("csrf_token", csrf(html)), ("editor_of", hidden(html, "editor_of"))]
    sent += [("suggested", hidden(html, "suggested"))]
    return sent + list(typed.items())


async def post(client: TestClient, path: str, fields: list[tuple[str, str]]) -> Any:
    return await client.post(path, data=fields, allow_redirects=False)


async def sign_in_to(client: TestClient, smtp: SmtpServer, email: str) -> str:
    """Sign in by the emailed link; returns where the sign-in sends the person."""
    before = len(smtp.messages)
    response = await form_post(client, "/staff/sign-in", {"email": email})
    assert response.status == 303
    message = (await smtp.received(before + 1))[-1]
    response = await form_post(client, link(message, "/staff/sign-in/"), {})
    assert response.status == 303
    return str(response.headers["Location"])


def value_in(html: str, name: str) -> str:
    """A text input's or textarea's value in the page."""
    textarea = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    if textarea:
        return unescape(textarea.group(1))
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert found, f"no {name} field"
    return unescape(found.group(1))


def set_kept_cookie(client: TestClient, token: str) -> None:
    cookie: SimpleCookie = SimpleCookie()
    cookie["lh_kept"] = token
    cookie["lh_kept"]["path"] = "/staff"
    client.session.cookie_jar.update_cookies(cookie, client.make_url("/staff"))


async def count(sessions: async_sessionmaker[AsyncSession], *where: Any) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(EditorCopy).where(*where)
        return int(await session.scalar(query) or 0)


async def lapse(web: TestClient, smtp: SmtpServer, clock: Clock, **typed: str) -> tuple[Any, str]:
    """Sign in, open a new brief, type, let the session end (31 idle minutes), then press
    "Save draft". Returns the response and the kept-form token from its cookie."""
    await sign_in(web, smtp, PUBLISHER)
    html = await open_editor(web)
    clock.advance(minutes=31)
    response = await post(web, "/staff/briefs/new", fields_of(html, **typed, action="save"))
    token = response.cookies["lh_kept"].value if "lh_kept" in response.cookies else ""
    return response, token


async def test_a_post_that_meets_an_ended_session_is_back_after_signing_in(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    response, token = await lapse(web, smtp_server, clock, **TEXT)
    assert response.status == 303
    assert response.headers["Location"] == "/staff/sign-in"
    cookie = response.cookies["lh_kept"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/staff"
    assert int(cookie["max-age"]) == 24 * 3600
    assert not cookie["secure"]  # plain http here; https: tests below
    # Nothing saved; only the token's SHA-256 is stored.
    assert "Bruising" not in await (await web.get("/api/v1/briefs")).text()
    async with sessions() as session:
        row = await session.scalar(select(EditorCopy))
    assert row is not None and row.path == "/staff/briefs/new"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.fields["title"] == TEXT["title"]

    page = await (await web.get("/staff/sign-in")).text()
    assert KEPT in unescape(page)
    assert await sign_in_to(web, smtp_server, PUBLISHER) == "/staff/briefs/new"

    opened = await web.get("/staff/briefs/new")
    html = await opened.text()
    assert opened.status == 200
    assert "Your session ended before your changes were saved, so we kept them" in html
    assert "as you sent them at 09:31 today" in html
    assert value_in(html, "title") == TEXT["title"]
    assert value_in(html, "summary").replace("\r\n", "\n") == TEXT["summary"].replace("\r\n", "\n")
    assert value_in(html, "source_year") == "2025"
    assert opened.cookies["lh_kept"].value == ""  # the cookie goes
    # The kept form went; what it held is the working copy now (a reload loses nothing).
    assert await count(sessions, EditorCopy.token_hash.is_not(None)) == 0
    again = await (await web.get("/staff/briefs/new")).text()
    assert "You have unsaved changes from 09:31 today" in again
    restored = await (await web.get("/staff/briefs/new?copy=restore")).text()
    assert value_in(restored, "title") == TEXT["title"]

    # Saved at last: the draft is made and no copy is left.
    response = await post(web, "/staff/briefs/new", fields_of(restored, **TEXT, action="save"))
    assert response.status == 303
    assert "?done=created" in response.headers["Location"]
    assert await count(sessions) == 0
    assert "You have unsaved changes" not in await open_editor(web)


async def test_an_edit_of_a_published_brief_is_kept_and_the_brief_left_alone(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    publisher: dict[str, str],
) -> None:
    brief_id = await publish(web, publisher, title="Safer sleep: Baby T")
    path = f"/staff/briefs/{brief_id}/edit"
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web, path)
    clock.advance(hours=1)
    typed = {**TEXT, "significant": "yes", "change_note": "New findings on bruising."}
    response = await post(web, path, fields_of(html, **typed, action="save"))
    assert response.status == 303 and response.headers["Location"] == "/staff/sign-in"
    api = await (await web.get(f"/api/v1/briefs/{brief_id}")).json()
    assert api["title"] == "Safer sleep: Baby T"

    assert await sign_in_to(web, smtp_server, PUBLISHER) == path
    back = await (await web.get(path)).text()
    assert "so we kept them" in back
    assert value_in(back, "title") == TEXT["title"]
    assert value_in(back, "change_note") == "New findings on bruising."
    assert 'value="yes" checked' in back
    # Still nothing published until the publisher saves and confirms.
    api = await (await web.get(f"/api/v1/briefs/{brief_id}")).json()
    assert api["title"] == "Safer sleep: Baby T" and api["status"] == "published"


async def test_another_persons_kept_form_cookie_opens_nothing(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, token = await lapse(web, smtp_server, clock, **TEXT)
    assert token
    # An attacker, a member of staff too, holding the publisher's cookie in a browser of their own.
    web.session.cookie_jar.clear()
    set_kept_cookie(web, token)
    assert KEPT in unescape(await (await web.get("/staff/sign-in")).text())
    assert await sign_in_to(web, smtp_server, ADMIN) == "/staff/briefs"
    assert not any(c.key == "lh_kept" and c.value for c in web.session.cookie_jar)
    for path in ("/staff/briefs/new", "/staff/briefs/new?copy=restore", "/staff/briefs"):
        set_kept_cookie(web, token)  # sent again on purpose
        page = await (await web.get(path)).text()
        assert "Bruising" not in page and "Baby M" not in page
        assert "unsaved changes" not in page and "so we kept them" not in page
    # The publisher's form is still theirs to have back.
    assert await count(sessions, EditorCopy.token_hash.is_not(None)) == 1
    web.session.cookie_jar.clear()
    set_kept_cookie(web, token)
    assert await sign_in_to(web, smtp_server, PUBLISHER) == "/staff/briefs/new"
    assert value_in(await open_editor(web), "title") == TEXT["title"]


async def test_kept_forms_expire_after_24_hours(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await lapse(web, smtp_server, clock, **TEXT)
    clock.advance(hours=23, minutes=59)
    assert KEPT in unescape(await (await web.get("/staff/sign-in")).text())
    clock.advance(minutes=1)
    assert KEPT not in unescape(await (await web.get("/staff/sign-in")).text())
    assert await sign_in_to(web, smtp_server, PUBLISHER) == "/staff/briefs"
    page = await open_editor(web)
    assert "Bruising" not in page and "unsaved changes" not in page
    assert await copies.purge_expired(sessions, clock) == 1  # serve's hourly job
    assert await count(sessions) == 0


async def test_only_the_editors_own_posts_are_kept(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    publisher: dict[str, str],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web)
    brief_id = await publish(web, publisher)
    other = await open_editor(web, f"/staff/briefs/{brief_id}/edit")
    clock.advance(minutes=31)
    owner = hidden(html, "editor_of")
    staff_id, _, mac = owner.partition(".")
    for forged in (
        "",
        f"{staff_id}.{'0' * 64}",
        f"{int(staff_id) + 1}.{mac}",  # another member of staff, the same signature
        hidden(other, "editor_of"),  # the field of another editor
    ):
        fields = [(k, v) for k, v in fields_of(html, **TEXT) if k != "editor_of"]
        response = await post(web, "/staff/briefs/new", [*fields, ("editor_of", forged)])
        assert response.status == 303 and response.headers["Location"] == "/staff/sign-in"
        assert "lh_kept" not in response.cookies
    # CSRF still applies: without the page's token nothing is kept.
    fields = [(k, v) for k, v in fields_of(html, **TEXT) if k != "csrf_token"]
    assert (await post(web, "/staff/briefs/new", fields)).status == 403
    assert await count(sessions) == 0


async def test_kept_posts_are_bounded_by_the_editors_limits_and_a_rate(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web)
    clock.advance(minutes=31)
    most = {**TEXT, "summary": "x" * 50_000, "title": "t" * 300}
    response = await post(web, "/staff/briefs/new", fields_of(html, **most))
    assert response.status == 303 and "lh_kept" in response.cookies
    too_long = {**most, "summary": "x" * 50_001}
    response = await post(web, "/staff/briefs/new", fields_of(html, **too_long))
    assert response.status == 413
    assert "Your changes could not be kept" in await response.text()
    assert await count(sessions) == 1
    # Five a minute from one address (and for one member of staff): the sixth is refused.
    for _ in range(4):
        assert (await post(web, "/staff/briefs/new", fields_of(html, **TEXT))).status == 303
    response = await post(web, "/staff/briefs/new", fields_of(html, **TEXT))
    assert response.status == 429
    # One kept form per browser: each post replaced the one its cookie named.
    assert await count(sessions) == 1


async def test_the_kept_form_cookie_is_secure_on_https(
    client: TestClient, staff: None, clock: Clock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The app on https: its cookies are Secure, so the test sends them by hand."""
    token = secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        member = await session.scalar(select(StaffMember).where(StaffMember.email == PUBLISHER))
        assert member is not None
        session.add(StaffSession(token_hash=hash_token(token), staff_id=member.id,
                                 created_at=clock.now, last_seen_at=clock.now))  # fmt: skip
    opened = await client.get("/staff/briefs/new", headers={"Cookie": f"lh_staff={token}"})
    html, csrf_cookie = await opened.text(), opened.cookies["lh_csrf"].value
    clock.advance(minutes=31)
    response = await client.post(
        "/staff/briefs/new",
        data=fields_of(html, **TEXT),
        headers={"Cookie": f"lh_csrf={csrf_cookie}; lh_staff={token}"},
        allow_redirects=False,
    )
    assert response.status == 303
    header = next(v for v in response.headers.getall("Set-Cookie") if v.startswith("lh_kept="))
    for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/staff", "Max-Age=86400"):
        assert flag in header


async def test_autosave_keeps_a_working_copy_and_never_changes_the_brief(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    publisher: dict[str, str],
) -> None:
    brief_id = await publish(web, publisher, title="Safer sleep: Baby T")
    path = f"/staff/briefs/{brief_id}/edit"
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web, path)
    assert f'data-autosave="{path}/autosave"' in html
    assert 'role="status"' in html
    typed = {**TEXT, "title": "Safer sleep: Baby T and his sister"}
    clock.advance(minutes=5)
    response = await post(web, f"{path}/autosave", fields_of(html, **typed))
    assert response.status == 200
    assert await response.json() == {"saved": True, "time": "09:05"}
    assert response.headers["Cache-Control"] == "no-store"
    api = await (await web.get(f"/api/v1/briefs/{brief_id}")).json()
    assert api["title"] == "Safer sleep: Baby T"  # the brief is untouched

    # Reopening offers the copy: restore or discard; the form shows what is saved.
    page = await open_editor(web, path)
    assert "You have unsaved changes from 09:05 today" in page
    assert f'href="{path}?copy=restore"' in page and f'action="{path}/discard"' in page
    assert "data-autosave-paused" in page
    assert value_in(page, "title") == "Safer sleep: Baby T"
    restored = await open_editor(web, f"{path}?copy=restore")
    assert "Your unsaved changes from 09:05 today are back" in restored
    assert value_in(restored, "title") == "Safer sleep: Baby T and his sister"
    assert "data-autosave-paused" not in restored
    # Another member of staff has no copy to restore: copies are each person's own.
    await sign_in(web, smtp_server, ADMIN)
    assert "unsaved changes" not in await open_editor(web, path)
    assert "and his sister" not in await open_editor(web, f"{path}?copy=restore")
    await sign_in(web, smtp_server, PUBLISHER)

    # Discarded: gone.
    response = await form_post(web, path, {}, path=f"{path}/discard")
    assert response.status == 303 and response.headers["Location"] == path
    assert await count(sessions) == 0
    assert "unsaved changes" not in await open_editor(web, path)

    # A copy the same as what is saved is no copy.
    html = await open_editor(web, path)
    response = await post(web, f"{path}/autosave", fields_of(html) + _form_of(html))
    assert (await response.json())["saved"] is False
    assert await count(sessions) == 0

    # Saving the form deletes the copy.
    await post(web, f"{path}/autosave", fields_of(html, **typed))
    assert await count(sessions) == 1
    response = await post(web, path, fields_of(html, **typed, significant="no", action="save"))
    assert response.status == 303, await response.text()
    assert await count(sessions) == 0


def _form_of(html: str) -> list[tuple[str, str]]:
    """The editor's fields as the page shows them, ticked tags included."""
    names = ["title", "summary", "learning_points", "source_review", "source_board"]
    names += ["source_day", "source_month", "source_year", "source_url"]
    names += ["background", "why_it_matters", "actions", "questions", "resources"]
    found = [(name, value_in(html, name)) for name in names] + [("audience", "public")]
    return found + [(f, code) for f in FACETS for code in ticked(html, f)]


async def test_autosave_without_a_session_says_so_and_keeps_nothing(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    html = await (await web.get("/staff/sign-in")).text()  # a CSRF cookie, no session
    fields = [("csrf_token", csrf(html)), *TEXT.items()]
    response = await post(web, "/staff/briefs/new/autosave", fields)
    assert response.status == 401
    assert (await response.json())["error"] == "signed_out"
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web)
    # Each autosave is activity: the session lasts while the person types.
    for _ in range(3):
        clock.advance(minutes=20)
        response = await post(web, "/staff/briefs/new/autosave", fields_of(html, **TEXT))
        assert response.status == 200
    clock.advance(minutes=30)
    response = await post(web, "/staff/briefs/new/autosave", fields_of(html, **TEXT))
    assert response.status == 401
    assert "lh_kept" not in response.cookies  # the text is still in the page
    # CSRF applies to autosave as to every form.
    await sign_in(web, smtp_server, PUBLISHER)
    forged = [(k, "forged" if k == "csrf_token" else v) for k, v in fields_of(html, **TEXT)]
    assert (await post(web, "/staff/briefs/new/autosave", forged)).status == 403
    # A copy longer than the editor takes is refused.
    too_long = fields_of(html, **{**TEXT, "background": "b" * 5_001})
    response = await post(web, "/staff/briefs/new/autosave", too_long)
    assert response.status == 413
    assert await response.json() == {"error": "too_large", "fields": ["background"]}
    async with sessions() as session:
        copy = await session.scalar(select(EditorCopy))
    assert copy is not None and copy.fields["title"] == TEXT["title"]


async def test_a_copy_says_when_the_brief_changed_after_it_and_goes_when_published(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    publisher: dict[str, str],
) -> None:
    response = await web.post(
        "/api/v1/briefs", json={**_api_brief(), "title": "Neglect: Child N"}, headers=publisher
    )
    brief_id = (await response.json())["id"]
    path = f"/staff/briefs/{brief_id}/edit"
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web, path)
    response = await post(web, f"{path}/autosave", fields_of(html, **TEXT))
    assert (await response.json())["saved"] is True
    clock.advance(minutes=10)
    # Someone else changes the draft meanwhile (here, over the API).
    changed = await web.patch(
        f"/api/v1/briefs/{brief_id}", json={"title": "Neglect: Child N (2)"}, headers=publisher
    )
    assert changed.status == 200, await changed.text()
    page = await open_editor(web, path)
    assert "You have unsaved changes from 09:00 today" in page
    assert "The brief was changed at 09:10 today, after your copy" in page
    # Publishing the draft deletes the publisher's copy of its editor.
    response = await form_post(web, f"/staff/briefs/{brief_id}/publish", {})
    assert response.status == 303
    assert await count(sessions) == 0


def _api_brief() -> dict[str, Any]:
    return brief_body()


async def test_a_removed_member_of_staff_has_nothing_kept(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web)
    async with sessions.begin() as session:
        member = await session.scalar(select(StaffMember).where(StaffMember.email == PUBLISHER))
        assert member is not None
        member.removed_at = clock.now
    response = await post(web, "/staff/briefs/new", fields_of(html, **TEXT, action="save"))
    assert response.status == 303 and response.headers["Location"] == "/staff/sign-in"
    assert "lh_kept" not in response.cookies
    assert await count(sessions) == 0


async def test_working_copies_last_30_days_untouched(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    html = await open_editor(web)
    assert (await post(web, "/staff/briefs/new/autosave", fields_of(html, **TEXT))).status == 200
    clock.advance(days=29, hours=23)
    await sign_in(web, smtp_server, PUBLISHER)
    assert "You have unsaved changes from 09:00 on 23 November" in await open_editor(web)
    clock.advance(hours=1)
    await sign_in(web, smtp_server, PUBLISHER)
    assert "unsaved changes" not in await open_editor(web)
    assert await copies.purge_expired(sessions, clock) == 1
