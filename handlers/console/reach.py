"""Reach: who is subscribed, and how many people each brief was sent to.

Read-only counts over the subscriber and mail tables; nothing here is personal data.
"""

from __future__ import annotations

from aiohttp import web

from handlers.console.common import page, staff_only
from learnhub.keys import readonly_key, tagging_key
from service.briefs import queries as briefs
from service.mail.queries import sent_counts
from subscribers.subscriptions import queries as subscribers
from subscribers.subscriptions.queries import EVERYTHING

routes = web.RouteTableDef()


@routes.get("/staff/reach")
@staff_only()
async def reach(request: web.Request) -> web.Response:
    taxonomy = request.app[tagging_key].taxonomy
    async with request.app[readonly_key]() as session:
        frequencies = await subscribers.confirmed_by_frequency(session)
        agencies = await subscribers.confirmed_by_code(session, "agencies")
        boroughs = await subscribers.confirmed_by_code(session, "boroughs")
        published = await briefs.ever_published(session)
        sent = await sent_counts(session, [b.id for b in published])
    context = {
        "total": sum(frequencies.values()),
        "frequencies": [
            (f.capitalize(), frequencies.get(f, 0)) for f in ("immediate", "daily", "weekly")
        ],
        "agencies": [("All agencies", agencies[EVERYTHING])]
        + [(t.label, agencies.get(t.code, 0)) for t in taxonomy.terms("agencies")],
        "boroughs": [("All of Merseyside", boroughs[EVERYTHING])]
        + [(t.label, boroughs.get(t.code, 0)) for t in taxonomy.terms("boroughs")],
        "briefs": [(b, sent.get(b.id, 0)) for b in published],
    }
    return page("console/reach.html", request, context)
