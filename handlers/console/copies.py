"""Nothing lost (issue 19, part 2): the editor's working copies, and its posts kept when the
session has ended. ``service.staff.copies`` holds them; this is their web side.

- **Autosave**: the editor's script (``handlers/static/learnhub.js``) posts the form, with its
  CSRF field, to ``{editor}/autosave`` about 10 seconds after a change and when the page is
  hidden. Only the working copy is written, never the brief. Without a session the answer is
  401, for the script to say that the session has ended.
- **Reopening** an editor whose working copy differs from what is saved offers the copy back:
  ``{editor}?copy=restore`` shows it in the form, ``POST {editor}/discard`` deletes it.
  Saving the form or publishing the brief deletes it too.
- **Kept posts**: a post of the editor without a session (none, or ended) is kept if it
  carries the editor's ``editor_of`` field, which names the member of staff the page was
  made for, signed with the service's key. It is kept under a random token (its SHA-256
  stored) named by the cookie ``lh_kept``, for 24 hours, and the person is sent to sign in.
  Once they have signed in as that same member of staff, the sign-in lands on the editor,
  which shows the kept fields and says what happened. Nobody else gets them, whatever
  cookie they hold. Posts are bounded by the editor's limits and rate-limited per client
  address and per member of staff; the CSRF check has already passed.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from handlers.console.common import page, see_other, staff_key, staff_only
from handlers.console.editor import EditorForm
from learnhub.keys import (
    clock_key,
    limiter_key,
    readonly_key,
    sessions_key,
    settings_key,
    tagging_key,
)
from service.briefs import service as briefs
from service.briefs.models import Brief
from service.staff import copies
from service.staff.models import StaffMember

KEPT_COOKIE = "lh_kept"
OWNER_FIELD = "editor_of"
NEW = "/staff/briefs/new"
ID = "{id:[0-9a-fA-F-]{32,36}}"
SIGNED_OUT = "Your session has ended"
KEPT = "Your session ended before your changes were saved; sign in and they will be back"
routes = web.RouteTableDef()


def editor_path(request: web.Request) -> str:
    """The editor's path, written one way (a brief's id as its canonical UUID)."""
    raw = request.match_info.get("id")
    if raw is None:
        return NEW
    try:
        return f"/staff/briefs/{uuid.UUID(raw)}/edit"
    except ValueError:
        raise web.HTTPNotFound() from None


def owner_field(request: web.Request, staff_id: int, path: str) -> str:
    """The editor's hidden ``editor_of``: whose page it is, for which editor, signed."""
    return f"{staff_id}.{_mac(request, staff_id, path)}"


def owner_of(request: web.Request, value: str, path: str) -> int | None:
    """The member of staff an ``editor_of`` field names for ``path``; None if forged."""
    staff, _, mac = value.partition(".")
    if not (staff.isascii() and staff.isdigit()) or len(staff) > 10:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(request, int(staff), path).encode()):
        return None
    return int(staff)


def _mac(request: web.Request, staff_id: int, path: str) -> str:
    key = request.app[settings_key].signing_key().encode()
    message = f"editor-copy\x00{staff_id}\x00{path}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def keep_post(request: web.Request) -> web.StreamResponse:
    """A post of the editor that met no session: kept for its owner, who is sent to sign in."""
    path = editor_path(request)
    post = await request.post()
    owner = owner_of(request, str(post.get(OWNER_FIELD, "")), path)
    if owner is None:  # not a form of our editor's pages: nothing to keep
        raise web.HTTPSeeOther("/staff/sign-in")
    form = EditorForm.parse(post)
    if form.oversized():
        return page("console/message.html", request, {
            "heading": "Your changes could not be kept",
            "paragraphs": [
                "Your session ended before your changes were saved, and they are longer than "
                "the editor takes, so we could not keep them for you.",
                "Go back to copy your text, then sign in again and shorten it.",
            ],
            "link": ("Sign in again", "/staff/sign-in"),
        }, status=413)  # fmt: skip
    app = request.app
    await app[limiter_key].check(f"kept-form:ip:{request.remote}", f"kept-form:staff:{owner}")
    now = app[clock_key]()
    async with app[sessions_key].begin() as session:
        member = await session.get(StaffMember, owner)
        if member is None or member.removed_at is not None:
            raise web.HTTPSeeOther("/staff/sign-in")
        if path != NEW:
            await briefs.get(session, uuid.UUID(request.match_info["id"]))  # 404 if none
        token = await copies.keep(
            session,
            staff_id=owner,
            path=path,
            fields=form.to_copy(app[tagging_key].taxonomy),
            now=now,
            replacing=request.cookies.get(KEPT_COOKIE),
        )
    response = see_other("/staff/sign-in")
    secure = app[settings_key].base_url.startswith("https://")
    lifetime = int(copies.KEPT_LIFETIME.total_seconds())
    response.set_cookie(KEPT_COOKIE, token, httponly=True, samesite="Lax", secure=secure,
                        path="/staff", max_age=lifetime)  # fmt: skip
    return response


KEPT_HOURS = int(copies.KEPT_LIFETIME.total_seconds() // 3600)


async def has_kept(request: web.Request) -> bool:
    """Whether this browser holds a kept form still to be given back (for the sign-in pages'
    message: it says nothing of whose or what)."""
    token = request.cookies.get(KEPT_COOKIE)
    if not token:
        return False
    async with request.app[readonly_key]() as session:
        return await copies.kept(session, token, request.app[clock_key]()) is not None


async def kept_for(request: web.Request, session: Any, staff: StaffMember) -> str | None:
    """The editor to land on after signing in: the kept form's, if it is this member of
    staff's own; None otherwise (another person's cookie opens nothing)."""
    token = request.cookies.get(KEPT_COOKIE)
    if not token:
        return None
    found = await copies.kept(session, token, request.app[clock_key]())
    return found.path if found is not None and found.staff_id == staff.id else None


@dataclass
class Reopened:
    """The editor as it opens: the form, and what to say about a copy."""

    form: EditorForm
    notice: str = ""  # "kept" (given back after signing in), "restored", or "offered"
    saved_at: str = ""  # when the copy was made, in words
    changed_since: str = ""  # when the brief was changed after the copy was made
    forget_kept: bool = False  # the kept form is given back: its cookie goes


async def reopen(request: web.Request, saved: EditorForm, brief: Brief | None) -> Reopened:
    """A form kept when the session ended (for this member of staff and this editor), or a
    working copy that differs from what is saved (offered, or shown with ``?copy=restore``),
    or what is saved."""
    app, path, staff = request.app, editor_path(request), request[staff_key]
    now = app[clock_key]()
    token = request.cookies.get(KEPT_COOKIE)
    if token:
        async with app[sessions_key].begin() as session:
            back = await copies.restore(session, token, staff_id=staff.id, path=path, now=now)
        if back is not None:
            form = EditorForm.from_copy(back.fields)
            return Reopened(form, "kept", when(request, back.saved_at), forget_kept=True)
    async with app[readonly_key]() as session:
        copy = await copies.working(session, staff_id=staff.id, path=path, now=now)
    if copy is None:
        return Reopened(saved)
    form = EditorForm.from_copy(copy.fields)
    if form.same_as(saved):
        return Reopened(saved)
    changed = ""
    if brief is not None and brief.updated_at > copy.saved_at:
        changed = when(request, brief.updated_at)
    if request.query.get("copy") == "restore":
        return Reopened(form, "restored", when(request, copy.saved_at), changed)
    return Reopened(saved, "offered", when(request, copy.saved_at), changed)


def when(request: web.Request, moment: datetime) -> str:
    """'14:32 today', or '14:32 on 4 December', in the service's time zone."""
    zone = request.app[settings_key].zone
    local, today = moment.astimezone(zone), request.app[clock_key]().astimezone(zone).date()
    clock = f"{local:%H:%M}"
    return f"{clock} today" if local.date() == today else f"{clock} on {local.day} {local:%B}"


def saved_form(brief: Brief | None) -> EditorForm:
    """The form as the editor opens it from what is saved."""
    return EditorForm() if brief is None else EditorForm.of(brief)


async def _brief(request: web.Request) -> Brief | None:
    if editor_path(request) == NEW:
        return None
    async with request.app[readonly_key]() as session:
        return await briefs.get(session, uuid.UUID(request.match_info["id"]))


async def _autosave_signed_out(request: web.Request) -> web.Response:
    return web.json_response({"error": "signed_out", "message": SIGNED_OUT}, status=401)


@routes.post(NEW + "/autosave")
@routes.post(f"/staff/briefs/{ID}/edit/autosave")
@staff_only(signed_out=_autosave_signed_out)
async def autosave(request: web.Request) -> web.Response:
    """The editor's script: write the working copy (never the brief); JSON for the script."""
    path = editor_path(request)
    form = EditorForm.parse(await request.post())
    too_long = form.oversized()
    if too_long:
        return web.json_response({"error": "too_large", "fields": too_long}, status=413)
    brief = await _brief(request)
    app, staff = request.app, request[staff_key]
    now = app[clock_key]()
    unchanged = form.same_as(saved_form(brief))
    async with app[sessions_key].begin() as session:
        if unchanged:  # nothing unsaved: no copy to offer later
            await copies.discard(session, staff_id=staff.id, path=path)
        else:
            fields = form.to_copy(app[tagging_key].taxonomy)
            await copies.save(session, staff_id=staff.id, path=path, fields=fields, now=now)
    local = now.astimezone(app[settings_key].zone)
    return web.json_response({"saved": not unchanged, "time": f"{local:%H:%M}"})


@routes.post(NEW + "/discard")
@routes.post(f"/staff/briefs/{ID}/edit/discard")
@staff_only()
async def discard(request: web.Request) -> web.Response:
    """Discard the working copy the editor offered; back to the editor as saved."""
    path = editor_path(request)
    await _brief(request)  # 404 for an unknown brief
    async with request.app[sessions_key].begin() as session:
        await copies.discard(session, staff_id=request[staff_key].id, path=path)
    return see_other(path)
