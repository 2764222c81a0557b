"""The staff console under /staff: sign-in, briefs, practitioner groups, reach and staff."""

from __future__ import annotations

from aiohttp import web

from handlers.console.audit import routes as audit_routes
from handlers.console.auth import routes as auth_routes
from handlers.console.briefs import routes as brief_routes
from handlers.console.copies import routes as copy_routes
from handlers.console.domains import routes as domain_routes
from handlers.console.group_members import routes as member_of_group_routes
from handlers.console.groups import routes as group_routes
from handlers.console.impact import routes as impact_routes
from handlers.console.imports import routes as import_routes
from handlers.console.members import routes as member_routes
from handlers.console.reach import routes as reach_routes


def setup(app: web.Application) -> None:
    every = (auth_routes, import_routes, brief_routes, group_routes, reach_routes, domain_routes,
             impact_routes, member_routes, member_of_group_routes, audit_routes,
             copy_routes)  # fmt: skip
    for routes in every:
        app.router.add_routes(routes)
