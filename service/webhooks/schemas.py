"""What the webhook routes take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from service.schemas import AgencyCode, BoroughCode, Line, Request, Response, ThemeCode
from service.webhooks.addresses import Refused, parse
from service.webhooks.models import MAX_URL

EventTypeName = Literal["brief.published", "brief.updated", "brief.withdrawn"]
EVENT_TYPES: tuple[EventTypeName, ...] = ("brief.published", "brief.updated", "brief.withdrawn")
# What the schema can say of a URL; the rest (a public host) is checked by the service.
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+([/?][^\s#]*)?$"


def _http_url(value: str) -> str:
    try:
        parse(value)
    except Refused as exc:
        raise ValueError(str(exc)) from None
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL),
    Field(json_schema_extra={"pattern": URL_PATTERN, "format": "uri"}),
    AfterValidator(_http_url),
]
Description = Annotated[Line, Field(max_length=200)]


class WebhookCreate(Request):
    """An endpoint to register. Filters work as subscriptions' do: any code within a facet,
    every facet given; none given, every brief."""

    url: WebhookUrl
    event_types: Annotated[
        list[EventTypeName], Field(min_length=1, max_length=3), AfterValidator(_unique)
    ]
    description: Description | None = None
    themes: Annotated[list[ThemeCode], Field(max_length=30)] = Field(default_factory=list)
    agencies: Annotated[list[AgencyCode], Field(max_length=30)] = Field(default_factory=list)
    boroughs: Annotated[list[BoroughCode], Field(max_length=30)] = Field(default_factory=list)
    practitioner_trusted: bool = False


class WebhookOut(Response):
    id: int
    url: str
    description: str
    event_types: list[str]
    themes: list[str]
    agencies: list[str]
    boroughs: list[str]
    practitioner_trusted: bool
    status: Literal["active", "disabled"]
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookCreated(WebhookOut):
    """The endpoint as registered, with its signing secret: shown this once, never again."""

    secret: str


class WebhookList(Response):
    items: list[WebhookOut]


class DeliveryOut(Response):
    id: int
    message_id: str = Field(description="the webhook-id header, the same on every attempt")
    type: str
    brief_id: uuid.UUID
    status: Literal["pending", "sending", "delivered", "failed", "cancelled"]
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryList(Response):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryQuery(Request):
    """Newest first; ``cursor`` is a ``next_cursor`` from the page before."""

    model_config = ConfigDict(extra="forbid", strict=False)

    cursor: Annotated[str, Field(max_length=18, pattern=r"^[0-9]{0,18}$")] = ""
    limit: int = Field(default=50, ge=1, le=200)
