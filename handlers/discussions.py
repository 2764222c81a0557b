"""Team discussion records: the form, its post, and the emailed link to update the actions.

Three kinds of recorder, each through its own door: a signed-in practitioner
(``/discussions/new?brief=``), a subscriber through the signed link in an email about the
brief (an alert's ``/discussions/new/{token}``, a digest's ``/discussions/new/{token}/{brief
id}``, carried on in a hidden field), and staff in the console
(``/staff/discussions/new?brief=``: the staff cookie lives under /staff). Anyone else
gets a 403 page that names nothing of the brief. Records are never listed anywhere public: a
record is read back only through the link emailed to its recorder (``discussion_records``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from handlers.common import mail, wake_mail
from handlers.console.common import page, staff_key, staff_only
from handlers.inputs import read_form
from handlers.pages import render, withdrawn_page
from handlers.reader import practitioner
from learnhub.keys import (
    clock_key,
    composer_key,
    readonly_key,
    sessions_key,
    settings_key,
    tagging_key,
)
from practice.discussions import schemas, service
from practice.discussions.models import Recorder
from service.briefs.models import Audience, Brief, Status
from service.errors import NotFound
from service.mail.queries import was_sent
from service.practitioners.sessions import is_practitioner
from subscribers.subscriptions import service as subscriptions
from subscribers.subscriptions.tokens import NOT_VALID, Purpose, TokenProblem, brief_in_link

routes = web.RouteTableDef()
CONSOLE = "console/base.html"
SITE = "layout.html"


@dataclass(frozen=True)
class Who:
    recorder: Recorder | None  # None: nobody who may record
    email: str = ""
    may_read_restricted: bool = False
    token: str = ""  # a subscriber's signed link (what follows /discussions/new/), in the form


def _brief_id(value: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        raise NotFound("no learning brief with that id") from None


async def _subscriber(request: web.Request, link: str) -> tuple[Who, uuid.UUID]:
    """The person and the brief a signed link names; a clear page if it can't be used.

    ``link`` is what follows ``/discussions/new/``: an alert's token, which names the brief,
    or a digest's, which names only the person, then ``/`` and the brief's id, which opens
    only if the person was sent that brief.
    """
    token, _, brief_named = link.partition("/")
    purpose = Purpose.discuss_sent if brief_named else Purpose.discuss
    claims = mail(request).links.tokens.read(token, purpose)
    if not brief_named and claims.brief_id is None:
        raise TokenProblem("This link is not valid here. Use the link from your email.")
    async with request.app[readonly_key]() as session:
        person = await subscriptions.by_token(session, mail(request), token, purpose)
        if brief_named:
            brief_id = brief_in_link(brief_named)
            if not await was_sent(session, person.email, brief_id):
                raise TokenProblem(NOT_VALID)
        else:
            assert claims.brief_id is not None
            brief_id = claims.brief_id
    domains = request.app[settings_key].practitioner_domains
    who = Who(Recorder.subscriber, person.email, is_practitioner(person.email, domains), link)
    return who, brief_id


def _reader(request: web.Request) -> Who:
    email = practitioner(request)
    if email is None:
        return Who(None)
    return Who(Recorder.practitioner, email, may_read_restricted=True)


async def _brief_for(request: web.Request, brief_id: uuid.UUID, who: Who) -> Brief | web.Response:
    """The brief if ``who`` may record a discussion of it, else the page that says why not."""
    async with request.app[readonly_key]() as session:
        try:
            brief = await service.brief_to_discuss(session, brief_id)
        except service.Gone as gone:
            # Named as the brief's own page names it: to those who may read it, and never
            # once restored to a draft (its title may be being rewritten).
            readable = gone.brief.audience == Audience.public or who.may_read_restricted
            named = readable and gone.brief.status == Status.withdrawn
            return withdrawn_page(request, gone.brief, named=named)
        if who.recorder is None:
            return _sign_in_needed(request, brief_id)
        if who.recorder is Recorder.subscriber and not await service.subscriber_may_record(
            session, brief, who.email, practitioner=who.may_read_restricted
        ):
            return _sign_in_needed(request, brief_id)
    return brief


@routes.get("/discussions/new")
async def new_discussion(request: web.Request) -> web.Response:
    brief_id = _brief_id(request.query.get("brief"))
    who = _reader(request)
    brief = await _brief_for(request, brief_id, who)
    if isinstance(brief, web.Response):
        return brief
    return _form(request, brief, who, schemas.FormRead({}, schemas.FIRST_ROWS))


@routes.get("/discussions/new/{token}")
@routes.get("/discussions/new/{token}/{brief}")
async def new_discussion_from_email(request: web.Request) -> web.Response:
    link = request.path.removeprefix("/discussions/new/")
    who, brief_id = await _subscriber(request, link)
    brief = await _brief_for(request, brief_id, who)
    if isinstance(brief, web.Response):
        return brief
    return _form(request, brief, who, schemas.FormRead({}, schemas.FIRST_ROWS))


@routes.post("/discussions")
async def record_discussion(request: web.Request) -> web.Response:
    form = _strings(await read_form(request))
    if form.get("token"):
        who, brief_id = await _subscriber(request, form["token"])
    else:
        who, brief_id = _reader(request), _brief_id(form.get("brief"))
    brief = await _brief_for(request, brief_id, who)
    if isinstance(brief, web.Response):
        return brief
    return await _save(request, brief, who, form, "/discussions/recorded")


@routes.get("/discussions/recorded")
async def recorded(request: web.Request) -> web.Response:
    return render("discussions/recorded.html", request, {"base": SITE, "home": "/"})


@routes.get("/staff/discussions/new")
@staff_only()
async def staff_new_discussion(request: web.Request) -> web.Response:
    brief = await _staff_brief(request, request.query.get("brief"))
    if isinstance(brief, web.Response):
        return brief
    return _form(request, brief, _staff(request), schemas.FormRead({}, schemas.FIRST_ROWS))


@routes.post("/staff/discussions")
@staff_only()
async def staff_record_discussion(request: web.Request) -> web.Response:
    form = _strings(await read_form(request))
    brief = await _staff_brief(request, form.get("brief"))
    if isinstance(brief, web.Response):
        return brief
    return await _save(request, brief, _staff(request), form, "/staff/discussions/recorded")


@routes.get("/staff/discussions/recorded")
@staff_only()
async def staff_recorded(request: web.Request) -> web.Response:
    return page("discussions/recorded.html", request, {"base": CONSOLE, "home": "/staff/briefs"})


def _staff(request: web.Request) -> Who:
    return Who(Recorder.staff, request[staff_key].email, may_read_restricted=True)


async def _staff_brief(request: web.Request, value: str | None) -> Brief | web.Response:
    return await _brief_for(request, _brief_id(value), _staff(request))


async def _save(
    request: web.Request, brief: Brief, who: Who, form: dict[str, str], done: str
) -> web.Response:
    if "add_action" in form:  # "Add another action": the same form with one more row
        kept = {k: v for k, v in form.items() if k not in ("csrf_token", "add_action")}
        return _form(request, brief, who, schemas.FormRead(kept, schemas.rows_of(form, add=True)))
    app = request.app
    now = app[clock_key]()
    zone = app[settings_key].zone
    taxonomy = app[tagging_key].taxonomy
    rules = schemas.Rules(
        today=now.astimezone(zone).date(),
        published_on=(brief.published_at or now).astimezone(zone).date(),
        agencies=taxonomy.codes("agencies"),
        boroughs=taxonomy.codes("boroughs"),
    )
    read = schemas.read_form(form, rules)
    if read.data is None:
        return _form(request, brief, who, read, status=422)
    assert who.recorder is not None
    async with app[sessions_key].begin() as session:
        await service.record(
            session, brief, read.data, recorder=who.recorder, email=who.email,
            composer=app[composer_key], base_url=app[settings_key].base_url, now=now,
        )  # fmt: skip
    wake_mail(app)
    return web.Response(status=303, headers={"Location": done})


def _form(
    request: web.Request, brief: Brief, who: Who, read: schemas.FormRead, status: int = 200
) -> web.Response:
    taxonomy = request.app[tagging_key].taxonomy
    staff = who.recorder is Recorder.staff
    context: dict[str, Any] = {
        "base": CONSOLE if staff else SITE,
        "action": "/staff/discussions" if staff else "/discussions",
        "brief": brief,
        "token": who.token,
        "values": read.values,
        "rows": read.rows,
        "most": schemas.MAX_ACTIONS,
        "errors": read.errors,
        "error_summary": read.errors,
        "agencies": taxonomy.terms("agencies"),
        "boroughs": taxonomy.terms("boroughs"),
    }
    template = "discussions/form.html"
    if staff:
        return page(template, request, context, status=status)
    response = render(template, request, context, status=status)
    response.headers["Cache-Control"] = "private, no-store"  # it may carry a signed link
    return response


def _strings(form: Any) -> dict[str, str]:
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _sign_in_needed(request: web.Request, brief_id: uuid.UUID) -> web.Response:
    """403: who may record, and the way to sign in and come back; nothing of the brief."""
    back = "/discussions/new?" + urlencode({"brief": str(brief_id)})
    sign_in = "/practitioners/sign-in?" + urlencode({"next": back})
    return render("discussions/sign_in_needed.html", request, {"sign_in_href": sign_in}, 403)
