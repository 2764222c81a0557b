"""Practitioner groups, for administrators: create, change, and the private feed link.

Members (invited in bulk, removed) are in ``handlers.console.group_members``."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from handlers.console.common import page, see_other, sentence, staff_key, staff_only
from handlers.inputs import Form, path_id
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key, tagging_key
from service.briefs.audience import in_domains
from service.errors import Conflict, Invalid
from service.staff.models import Role
from service.taxonomy import FACETS
from subscribers.groups import service as groups
from subscribers.groups.models import Group
from subscribers.groups.schemas import GroupCreate, GroupUpdate

routes = web.RouteTableDef()
ID = "{id:\\d+}"
DONE = {
    "created": "The group has been created. Add its members below.",
    "changed": "The group has been changed.",
    "invited": "We have emailed the invitation again. The person joins once they confirm.",
    "removed": "The member has been removed.",
}
MESSAGES: dict[str, str] = {
    "name": "Enter a name of up to 200 characters, on one line",
    "description": "Enter a description of up to 2,000 characters",
    "frequency": "Choose how often the group's members get emails",
    **{facet: "Choose from the options listed" for facet in FACETS},
}


def group_id(request: web.Request) -> int:
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
    fields = _fields(await request.post())
    app = request.app
    try:
        data = GroupCreate.model_validate(fields)
        async with app[sessions_key].begin() as session:
            group = await groups.create(
                session,
                data,
                taxonomy=app[tagging_key].taxonomy,
                staff=request[staff_key],
                now=app[clock_key](),
            )
    except (ValidationError, Conflict, Invalid) as exc:
        return _group_form(request, fields, _errors(exc))
    return see_other(f"/staff/groups/{group.id}?done=created")


@routes.get(f"/staff/groups/{ID}/edit")
@staff_only(Role.admin)
async def edit_group(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        group = await groups.get(session, group_id(request))
    fields = {name: getattr(group, name) for name in _fields_of_the_form()}
    return _group_form(request, fields, group=group)


@routes.post(f"/staff/groups/{ID}/edit")
@staff_only(Role.admin)
async def change_group(request: web.Request) -> web.Response:
    fields = _fields(await request.post())
    app, the_id = request.app, group_id(request)
    try:
        data = GroupUpdate.model_validate(fields)
        async with app[sessions_key].begin() as session:
            await groups.update(
                session,
                the_id,
                data,
                taxonomy=app[tagging_key].taxonomy,
                staff=request[staff_key],
                now=app[clock_key](),
            )
    except (ValidationError, Conflict, Invalid) as exc:
        async with app[readonly_key]() as session:
            group = await groups.get(session, the_id)
        return _group_form(request, fields, _errors(exc), group=group)
    return see_other(f"/staff/groups/{the_id}?done=changed")


def _fields_of_the_form() -> tuple[str, ...]:
    return ("name", "description", "frequency", "practitioners_only", *FACETS)


def _fields(form: Form) -> dict[str, Any]:
    return {
        "name": str(form.get("name", "")).strip(),
        "description": str(form.get("description", "")).strip(),
        "frequency": form.get("frequency", ""),
        "practitioners_only": form.get("practitioners_only") == "yes",
        **{facet: form.getall(facet, []) for facet in FACETS},
    }


def _errors(exc: ValidationError | Conflict | Invalid) -> dict[str, str]:
    """A GOV.UK message for each field refused, in the form's order."""
    if isinstance(exc, Conflict):  # the name is taken
        return {"name": sentence(exc.message)}
    if isinstance(exc, ValidationError):
        refused = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    else:  # unknown taxonomy codes, by facet
        refused = set(exc.details) if isinstance(exc.details, dict) else set(FACETS)
    found = {name: message for name, message in MESSAGES.items() if name in refused}
    return found or {"name": MESSAGES["name"]}


def _group_form(
    request: web.Request,
    fields: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    group: Group | None = None,
) -> web.Response:
    context = {"fields": fields, "group": group, "errors": errors or {},
               "error_summary": errors or {}}  # fmt: skip
    return page("console/group_new.html", request, context, status=422 if errors else 200)


@routes.get(f"/staff/groups/{ID}")
@staff_only(Role.admin)
async def show_group(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        group = await groups.get(session, group_id(request))
    return group_page(request, group, done=DONE.get(request.query.get("done", ""), ""))


def group_page(
    request: web.Request,
    group: Group,
    *,
    done: str = "",
    feed_url: str | None = None,
    errors: dict[str, str] | None = None,
    paste: str = "",
    results: Any = None,
    status: int | None = None,
) -> web.Response:
    domains = request.app[settings_key].practitioner_domains
    members = sorted(group.members, key=lambda m: m.subscriber.email)
    context = {
        "group": group,
        "members": members,
        # Members outside the practitioner domains get public briefs only, even here.
        "outside": {
            m.subscriber.email
            for m in members
            if group.practitioners_only and not in_domains(m.subscriber.domain, domains)
        },
        "done": done,
        "feed_url": feed_url,
        "errors": errors or {},
        "error_summary": errors or {},
        "paste": paste,
        "results": results,
    }
    code = status if status is not None else 422 if errors else 200
    return page("console/group.html", request, context, status=code)


@routes.post(f"/staff/groups/{ID}/feed-token")
@staff_only(Role.admin)
async def rotate_feed(request: web.Request) -> web.Response:
    """A new private feed link, shown on this answer only: only its hash is kept."""
    app = request.app
    async with app[sessions_key].begin() as session:
        group = await groups.get(session, group_id(request))
        token = groups.rotate_feed_token(
            session, group, staff=request[staff_key], now=app[clock_key]()
        )
    url = f"{app[settings_key].base_url}/feeds/groups/{token}.atom"
    return group_page(request, group, feed_url=url)
