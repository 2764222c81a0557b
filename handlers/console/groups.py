"""Practitioner groups, for administrators: create, members, and the private feed link."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from handlers.common import mail, wake_mail
from handlers.console.common import page, see_other, staff_only
from handlers.inputs import path_id
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key, tagging_key
from service.errors import Conflict, Invalid
from service.staff.models import Role
from service.taxonomy import FACETS
from subscribers.groups import service as groups
from subscribers.groups.models import Group
from subscribers.groups.schemas import GroupCreate, MemberAdd

routes = web.RouteTableDef()
ID = "{id:\\d+}"
DONE = {
    "created": "The group has been created. Add its members below.",
    "invited": "We have emailed an invitation. The person joins once they confirm.",
    "removed": "The member has been removed.",
}


def _id(request: web.Request) -> int:
    return path_id(request, "group")


@routes.get("/staff/groups")
@staff_only(Role.admin)
async def group_list(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        found = await groups.with_member_counts(session)
    return page("console/groups.html", request, {"groups": found})


@routes.get("/staff/groups/new")
@staff_only(Role.admin)
async def new_group(request: web.Request) -> web.Response:
    return _group_form(request, {"frequency": "weekly", **{f: [] for f in FACETS}})


@routes.post("/staff/groups/new")
@staff_only(Role.admin)
async def create_group(request: web.Request) -> web.Response:
    form = await request.post()
    fields: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "frequency": form.get("frequency", "weekly"),
        "practitioners_only": form.get("practitioners_only") == "yes",
        **{facet: form.getall(facet, []) for facet in FACETS},
    }
    app = request.app
    try:
        data = GroupCreate.model_validate(fields)
        async with app[sessions_key].begin() as session:
            group = await groups.create(
                session, data, taxonomy=app[tagging_key].taxonomy, now=app[clock_key]()
            )
    except ValidationError as exc:
        names = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        errors = {"name": "Enter a name of up to 200 characters"} if "name" in names else {}
        errors = errors or {"themes": "Choose from the options listed"}
        return _group_form(request, fields, errors)
    except (Conflict, Invalid) as exc:
        return _group_form(request, fields, {"name": exc.message[:1].upper() + exc.message[1:]})
    return see_other(f"/staff/groups/{group.id}?done=created")


def _group_form(
    request: web.Request, fields: dict[str, Any], errors: dict[str, str] | None = None
) -> web.Response:
    context = {"fields": fields, "errors": errors or {}, "error_summary": errors or {}}
    return page("console/group_new.html", request, context, status=422 if errors else 200)


@routes.get(f"/staff/groups/{ID}")
@staff_only(Role.admin)
async def show_group(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        group = await groups.get(session, _id(request))
    return _group_page(request, group, done=DONE.get(request.query.get("done", ""), ""))


def _group_page(
    request: web.Request,
    group: Group,
    *,
    done: str = "",
    feed_url: str | None = None,
    errors: dict[str, str] | None = None,
    email: str = "",
) -> web.Response:
    members = sorted(group.members, key=lambda m: m.subscriber.email)
    context = {
        "group": group,
        "members": members,
        "done": done,
        "feed_url": feed_url,
        "errors": errors or {},
        "error_summary": errors or {},
        "email": email,
    }
    return page("console/group.html", request, context, status=422 if errors else 200)


@routes.post(f"/staff/groups/{ID}/members")
@staff_only(Role.admin)
async def add_member(request: web.Request) -> web.Response:
    email = str((await request.post()).get("email", "")).strip()
    app = request.app
    try:
        data = MemberAdd.model_validate({"email": email})
        async with app[sessions_key].begin() as session:
            await groups.add_member(
                session, _id(request), data.email, mail=mail(request), now=app[clock_key]()
            )
    except (ValidationError, Conflict) as exc:
        message = (
            exc.message
            if isinstance(exc, Conflict)
            else "Enter an email address in the correct format, like name@nhs.net"
        )
        async with app[readonly_key]() as session:
            group = await groups.get(session, _id(request))
        errors = {"email": message[:1].upper() + message[1:]}
        return _group_page(request, group, errors=errors, email=email)
    wake_mail(app)
    return see_other(f"/staff/groups/{_id(request)}?done=invited")


@routes.post(f"/staff/groups/{ID}/members/remove")
@staff_only(Role.admin)
async def remove_member(request: web.Request) -> web.Response:
    email = str((await request.post()).get("email", ""))
    async with request.app[sessions_key].begin() as session:
        await groups.remove_member(session, _id(request), email)
    return see_other(f"/staff/groups/{_id(request)}?done=removed")


@routes.post(f"/staff/groups/{ID}/feed-token")
@staff_only(Role.admin)
async def rotate_feed(request: web.Request) -> web.Response:
    """A new private feed link, shown on this answer only: only its hash is kept."""
    async with request.app[sessions_key].begin() as session:
        group = await groups.get(session, _id(request))
        token = groups.rotate_feed_token(group)
    url = f"{request.app[settings_key].base_url}/feeds/groups/{token}.atom"
    return _group_page(request, group, feed_url=url)
