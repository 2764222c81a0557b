"""Every route of the application, in one table of contents."""

from __future__ import annotations

from aiohttp import web

from handlers import (
    about,
    acknowledgements,
    briefs,
    console,
    discussion_records,
    discussions,
    feeds,
    groups,
    health,
    impact,
    listing,
    openapi,
    practitioners,
    reviews,
    site,
    staff,
    subscription_pages,
    subscriptions,
    taxonomy,
    webhooks,
)
from handlers.console import addresses as console_addresses

APIS = [
    briefs.api,
    taxonomy.api,
    staff.api,
    subscriptions.api,
    groups.api,
    impact.api,
    webhooks.api,
]


def setup_routes(app: web.Application, version: str) -> None:
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    endpoints = [e for api in APIS for e in api.endpoints]
    app.router.add_get("/api/v1/openapi.json", openapi.handler(openapi.build(endpoints, version)))
    for api in APIS:
        api.setup(app)
    feeds.setup(app)
    app.router.add_routes(subscription_pages.routes)
    app.router.add_routes(acknowledgements.routes)
    app.router.add_routes(site.routes)
    app.router.add_routes(listing.routes)
    app.router.add_routes(about.routes)
    app.router.add_routes(reviews.routes)
    app.router.add_routes(practitioners.routes)
    app.router.add_routes(discussions.routes)
    app.router.add_routes(discussion_records.routes)  # after /discussions/new and /recorded
    console.setup(app)
    app.router.add_routes(console_addresses.routes)
