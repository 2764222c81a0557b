"""Staff accounts, for administrators: add, change a role, remove (issue 19, part 5).

The rules are the staff domain's (service.staff.service): the last administrator stays, a
removed member is signed out everywhere and their API token opens nothing.
"""

from __future__ import annotations

from aiohttp import web

from handlers.console.common import COOKIE, page, see_other, sentence, staff_key, staff_only
from handlers.inputs import path_id
from learnhub.keys import clock_key, readonly_key, sessions_key
from service.errors import Conflict, Invalid
from service.staff import service as staff_service
from service.staff.models import ROLE_LABELS, Role, StaffMember

routes = web.RouteTableDef()
ID = "{id:\\d+}"
EMAIL = 320  # the column's length, and the longest address there is (RFC 5321)
DONE = {
    "role": "The role has been changed.",
    "removed": "The member of staff has been removed. They have been signed out.",
}
ROLES = [
    (
        Role.publisher.value,
        ROLE_LABELS[Role.publisher],
        "Writes, publishes and withdraws briefs; sees reach and impact.",
    ),
    (
        Role.admin.value,
        ROLE_LABELS[Role.admin],
        "Everything a publisher does, and manages staff, groups, domains and the audit log.",
    ),
]


def _id(request: web.Request) -> int:
    return path_id(request, "member of staff")


@routes.get("/staff/members")
@staff_only(Role.admin)
async def member_list(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        members = await staff_service.listed(session)
    done = DONE.get(request.query.get("done", ""), "")
    return page("console/members.html", request, {"members": members, "done": done})


@routes.get("/staff/members/new")
@staff_only(Role.admin)
async def new_member(request: web.Request) -> web.Response:
    return _new_form(request, {"email": "", "role": ""}, {})


@routes.post("/staff/members/new")
@staff_only(Role.admin)
async def add_member(request: web.Request) -> web.Response:
    form = await request.post()
    fields = {name: str(form.get(name, "")).strip() for name in ("email", "role")}
    errors = _check(fields)
    if errors:
        return _new_form(request, fields, errors)
    app = request.app
    try:
        async with app[sessions_key].begin() as session:
            token = await staff_service.create(
                session,
                email=fields["email"],
                role=Role(fields["role"]),
                now=app[clock_key](),
                by=request[staff_key],
            )
            added = await staff_service.by_email(session, fields["email"])
    except (Invalid, Conflict) as exc:
        return _new_form(request, fields, {"email": sentence(exc.message)})
    context = {"member": added, "token": token, "roles": ROLES, "errors": {}}
    return page("console/member.html", request, context, status=201)


def _check(fields: dict[str, str]) -> dict[str, str]:
    errors = {}
    if not fields["email"]:
        errors["email"] = "Enter their work email address"
    elif len(fields["email"]) > EMAIL or "@" not in fields["email"]:
        errors["email"] = (
            "Enter an email address in the correct format, like name@merseyside.police.uk"
        )
    if fields["role"] not in ROLE_LABELS:
        errors["role"] = "Choose a role: publisher or administrator"
    return errors


def _new_form(request: web.Request, fields: dict[str, str], errors: dict[str, str]) -> web.Response:
    context = {"fields": fields, "roles": ROLES, "errors": errors, "error_summary": errors}
    return page("console/member_new.html", request, context, status=422 if errors else 200)


@routes.get(f"/staff/members/{ID}")
@staff_only(Role.admin)
async def show_member(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        member = await staff_service.get(session, _id(request))
    return _member_page(request, member, {})


def _member_page(
    request: web.Request, member: StaffMember, errors: dict[str, str], status: int = 200
) -> web.Response:
    context = {"member": member, "roles": ROLES, "token": None, "errors": errors,
               "error_summary": errors}  # fmt: skip
    return page("console/member.html", request, context, status=status)


@routes.post(f"/staff/members/{ID}/role")
@staff_only(Role.admin)
async def change_role(request: web.Request) -> web.Response:
    role = str((await request.post()).get("role", ""))
    app = request.app
    try:
        if role not in ROLE_LABELS:
            raise Invalid("Choose a role: publisher or administrator")
        async with app[sessions_key].begin() as session:
            await staff_service.change_role(
                session, _id(request), Role(role), by=request[staff_key], now=app[clock_key]()
            )
    except (Invalid, Conflict) as exc:
        async with app[readonly_key]() as session:
            member = await staff_service.get(session, _id(request))
        return _member_page(request, member, {"role": sentence(exc.message)}, exc.status)
    return see_other("/staff/members?done=role")


@routes.get(f"/staff/members/{ID}/remove")
@staff_only(Role.admin)
async def confirm_removal(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        member = await staff_service.get(session, _id(request))
    return page("console/member_remove.html", request, {"member": member, "errors": {}})


@routes.post(f"/staff/members/{ID}/remove")
@staff_only(Role.admin)
async def remove_member(request: web.Request) -> web.Response:
    app, me = request.app, request[staff_key]
    try:
        async with app[sessions_key].begin() as session:
            member = await staff_service.remove(session, _id(request), by=me, now=app[clock_key]())
    except Conflict as exc:
        async with app[readonly_key]() as session:
            member = await staff_service.get(session, _id(request))
        errors = {"remove": sentence(exc.message)}
        context = {"member": member, "errors": errors, "error_summary": errors}
        return page("console/member_remove.html", request, context, status=exc.status)
    if member.id != me.id:
        return see_other("/staff/members?done=removed")
    response = see_other("/staff/signed-out")  # their own session has just ended
    response.del_cookie(COOKIE, path="/staff")
    return response
