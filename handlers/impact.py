"""The impact report as JSON: GET /api/v1/impact?from=YYYY-MM-DD&to=YYYY-MM-DD (staff bearer).

The console's page and CSV of the same report are in handlers/console/impact.py."""

from __future__ import annotations

import json
from datetime import date

from aiohttp import web
from pydantic import BaseModel, Field, create_model

from handlers.api import Api
from handlers.errors import ApiError
from learnhub.keys import clock_key, readonly_key, settings_key
from practice.impact import service as impact
from service.staff.models import Role, StaffMember

api = Api()
TAG = "impact"
DAY = Field(
    default=None,
    description="YYYY-MM-DD, inclusive; required (422 when missing or not a real date)",
    json_schema_extra={"format": "date"},
)
# "from" is a Python keyword: the model is made from a mapping. Both are read as text and
# checked by practice.impact.service.period, so that every bad period is a 422 naming its field.
ImpactQuery: type[BaseModel] = create_model(
    "ImpactQuery",
    **{"from": (str | None, DAY), "to": (str | None, DAY)},  # type: ignore[call-overload]
)


@api.route(
    "GET",
    "/api/v1/impact",
    summary="The impact report for a period (from, to: YYYY-MM-DD, inclusive); counts only",
    tag=TAG,
    query=ImpactQuery,
    role=Role.publisher,
)
async def impact_report(request: web.Request, query: BaseModel, staff: StaffMember) -> web.Response:
    try:
        span = impact.period(getattr(query, "from"), query.to)  # type: ignore[attr-defined]
    except impact.PeriodProblem as exc:
        raise ApiError(
            422, exc.message, details=[{"field": exc.field, "message": exc.message}]
        ) from None
    async with request.app[readonly_key]() as session:
        report = await impact.report(session, span, today(request))
    return web.Response(
        text=json.dumps(report),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def today(request: web.Request) -> date:
    """Today where the service is (settings.zone), as team discussions' due dates are."""
    app = request.app
    return app[clock_key]().astimezone(app[settings_key].zone).date()
