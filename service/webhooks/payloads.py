"""What a delivery says: the spec's recommended shape, ``{"type", "timestamp", "data"}``.

``data`` is small on purpose (a partner fetches the brief from its URL or the API): the
brief's id, title, URL, audience, tags, revision and publication; a significant update adds
its change note, a withdrawal its public reason (never the internal note). The body is made
once, when the event is handled, and every attempt sends those very bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from service.briefs.models import Brief
from service.events.models import Event, EventType
from service.taxonomy import FACETS


def body(event: Event, brief: Brief, *, base_url: str) -> str:
    """The JSON body of ``event``'s deliveries, compact and in UTF-8."""
    data: dict[str, Any] = {
        "id": str(brief.id),
        "title": brief.title,
        "url": f"{base_url}/briefs/{brief.id}",
        "audience": brief.audience,
        **{facet: brief.codes(facet) for facet in FACETS},
        "revision": event.revision,
        "publication": event.payload.get("publication", brief.publication),
        "published_at": _iso(brief.published_at),
    }
    if event.type == EventType.updated:
        data["change_note"] = event.payload.get("change_note")
    if event.type == EventType.withdrawn:
        data["reason"] = event.payload.get("reason")
    document = {"type": event.type, "timestamp": _iso(event.occurred_at), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
