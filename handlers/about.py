"""About the service: the privacy notice, the accessibility statement, how to get in touch,
and the site's icon. What they say of the organisation comes from the LEARNHUB_ORGANISATION_*
settings (README, "Configuration"); what they say of the data is what the code keeps and
deletes (docs/privacy.md keeps the two in step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from handlers.pages import render
from learnhub.keys import settings_key
from practice import retention

routes = web.RouteTableDef()
STATIC = Path(__file__).parent / "static"
ICON_CACHE = "public, max-age=604800"  # a week: browsers ask for it on every site they visit


def _organisation(request: web.Request) -> dict[str, Any]:
    settings = request.app[settings_key]
    return {
        "name": settings.organisation_name,
        "email": settings.contact_email,
        "phone": settings.organisation_phone,
        "address": settings.organisation_address,
        "dpo_email": settings.dpo_email or settings.contact_email,
        "tested_on": settings.accessibility_tested_on,
    }


@routes.get("/privacy")
async def privacy(request: web.Request) -> web.Response:
    kept = {
        "unconfirmed_days": retention.UNCONFIRMED_FOR.days,
        "unsubscribed_days": retention.UNSUBSCRIBED_FOR.days,
        "evidence_years": request.app[settings_key].evidence_years,
    }
    context = {"organisation": _organisation(request), "kept": kept}
    return render("site/privacy.html", request, context)


@routes.get("/accessibility")
async def accessibility(request: web.Request) -> web.Response:
    return render("site/accessibility.html", request, {"organisation": _organisation(request)})


@routes.get("/contact")
async def contact(request: web.Request) -> web.Response:
    return render("site/contact.html", request, {"organisation": _organisation(request)})


@routes.get("/favicon.ico")
async def favicon(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "favicon.ico", headers={"Cache-Control": ICON_CACHE})


@routes.get("/apple-touch-icon.png")
async def touch_icon(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "apple-touch-icon.png", headers={"Cache-Control": ICON_CACHE})
