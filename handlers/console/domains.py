"""Email domains' agencies and boroughs, for administrators: list, add (or replace), remove.

Deliveries to a person who did not say their agency or borough are counted by their
address's domain in the impact report (practice/impact)."""

from __future__ import annotations

from aiohttp import web

from handlers.console.common import page, see_other, staff_only
from learnhub.keys import readonly_key, sessions_key, tagging_key
from service.errors import Invalid
from service.staff.models import Role
from subscribers.subscriptions import domains

routes = web.RouteTableDef()
DONE = {"added": "The domain has been mapped.", "removed": "The domain has been removed."}


@routes.get("/staff/domains")
@staff_only(Role.admin)
async def domain_list(request: web.Request) -> web.Response:
    return await _page(request, {}, {})


@routes.post("/staff/domains")
@staff_only(Role.admin)
async def add_domain(request: web.Request) -> web.Response:
    form = await request.post()
    fields = {name: str(form.get(name, "")).strip() for name in ("domain", "agency", "borough")}
    app = request.app
    try:
        async with app[sessions_key].begin() as session:
            await domains.put(
                session,
                fields["domain"],
                fields["agency"] or None,
                fields["borough"] or None,
                taxonomy=app[tagging_key].taxonomy,
            )
    except Invalid as exc:
        field = "domain" if "domain" in exc.details else "agency"
        if "boroughs" in exc.details:
            field = "borough"
        message = exc.message[:1].upper() + exc.message[1:]
        return await _page(request, fields, {field: message}, status=422)
    return see_other("/staff/domains?done=added")


@routes.post("/staff/domains/remove")
@staff_only(Role.admin)
async def remove_domain(request: web.Request) -> web.Response:
    form = await request.post()
    async with request.app[sessions_key].begin() as session:
        await domains.remove(session, str(form.get("domain", "")))
    return see_other("/staff/domains?done=removed")


async def _page(
    request: web.Request, fields: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    async with request.app[readonly_key]() as session:
        rows = await domains.listed(session)
    taxonomy = request.app[tagging_key].taxonomy
    labels = {t.code: t.label for facet in ("agencies", "boroughs") for t in taxonomy.terms(facet)}
    context = {
        "labels": labels,
        "rows": rows,
        "fields": fields,
        "errors": errors,
        "error_summary": errors,
        "done": DONE.get(request.query.get("done", "")),
    }
    return page("console/domains.html", request, context, status=status)
