"""A group's members, for administrators: invite many by pasting their addresses, invite one
again, remove one. Each invitation is an email asking the person to confirm."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from handlers.common import mail, wake_mail
from handlers.console.common import see_other, sentence, staff_key, staff_only
from handlers.console.groups import group_id, group_page
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key
from service.errors import Conflict, Invalid
from service.staff.models import Role
from subscribers.groups import service as groups
from subscribers.groups.invitations import Invitation, Outcome
from subscribers.groups.schemas import MemberAdd

routes = web.RouteTableDef()
ID = "{id:\\d+}"
# What became of each address, in the order the results page lists them: problems first.
ORDER = (Outcome.invalid, Outcome.outside, Outcome.suspended, Outcome.already_invited,
         Outcome.already_member, Outcome.invited)  # fmt: skip


@routes.post(f"/staff/groups/{ID}/members")
@staff_only(Role.admin)
async def invite(request: web.Request) -> web.Response:
    form = await request.post()
    # One address in ``email`` is what the form sent before it took a paste.
    paste = str(form.get("addresses", form.get("email", "")))
    app = request.app
    try:
        async with app[sessions_key].begin() as session:
            results = await groups.invite(
                session,
                group_id(request),
                paste,
                mail=mail(request),
                practitioner_domains=app[settings_key].practitioner_domains,
                staff=request[staff_key],
                now=app[clock_key](),
            )
            group = await groups.get(session, group_id(request))
    except Invalid as exc:
        async with app[readonly_key]() as session:
            group = await groups.get(session, group_id(request))
        return group_page(request, group, errors={"addresses": exc.message}, paste=paste)
    wake_mail(app)
    ordered = sorted(results, key=lambda r: ORDER.index(r.outcome))
    # Addresses to correct stay in the box, named in the error summary; the rest is done.
    problems = [r for r in results if r.outcome in (Outcome.invalid, Outcome.outside)]
    errors = {"addresses": _problem(problems)} if problems else {}
    invited = any(r.outcome == Outcome.invited for r in results)
    return group_page(
        request,
        group,
        results=_summary(ordered),
        errors=errors,
        paste="\n".join(r.given for r in problems),
        status=422 if problems and not invited else 200,
    )


def _problem(problems: list[Invitation]) -> str:
    n = len(problems)
    return (
        f"{n} {'address was' if n == 1 else 'addresses were'} not invited: "
        f"{'it is' if n == 1 else 'they are'} listed below and left in the box to correct"
    )


def _summary(results: list[Invitation]) -> dict[str, object]:
    counts = {outcome.value: 0 for outcome in ORDER}
    for result in results:
        counts[result.outcome.value] += 1
    return {"items": results, "counts": counts}


@routes.post(f"/staff/groups/{ID}/members/again")
@staff_only(Role.admin)
async def invite_again(request: web.Request) -> web.Response:
    """Send an invited person the invitation again (a paste skips those already invited)."""
    app = request.app
    try:
        email = MemberAdd.model_validate({"email": (await request.post()).get("email", "")}).email
        async with app[sessions_key].begin() as session:
            await groups.add_member(
                session,
                group_id(request),
                email,
                mail=mail(request),
                practitioner_domains=app[settings_key].practitioner_domains,
                staff=request[staff_key],
                now=app[clock_key](),
            )
    except (ValidationError, Conflict, Invalid) as exc:
        async with app[readonly_key]() as session:
            group = await groups.get(session, group_id(request))
        if isinstance(exc, ValidationError):
            message, status = "That is not the address of a member of this group", 422
        else:
            message, status = sentence(exc.message), exc.status
        return group_page(request, group, errors={"members": message}, status=status)
    wake_mail(app)
    return see_other(f"/staff/groups/{group_id(request)}?done=invited#members")


@routes.post(f"/staff/groups/{ID}/members/remove")
@staff_only(Role.admin)
async def remove_member(request: web.Request) -> web.Response:
    email = str((await request.post()).get("email", ""))
    app = request.app
    async with app[sessions_key].begin() as session:
        await groups.remove_member(
            session, group_id(request), email, staff=request[staff_key], now=app[clock_key]()
        )
    return see_other(f"/staff/groups/{group_id(request)}?done=removed")
