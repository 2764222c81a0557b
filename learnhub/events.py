"""The event routing table: which handlers each event type fans out to, in order."""

from __future__ import annotations

from aiohttp import web

from digests.revise import Revisions
from learnhub.keys import (
    clock_key,
    composer_key,
    links_key,
    readonly_key,
    settings_key,
    tagging_key,
)
from learnhub.schedule import digests_of
from service.events.dispatcher import Registration
from service.events.models import EventType
from service.webhooks.fanout import HANDLED as WEBHOOK_EVENTS
from service.webhooks.fanout import Fanout
from subscribers.alerts.notices import Notices, taken_back
from subscribers.alerts.service import Alerts


def registrations(app: web.Application) -> list[Registration]:
    alerts = Alerts(
        app[composer_key],
        app[links_key],
        app[tagging_key].taxonomy,
        app[settings_key],
        reads=app[readonly_key],
    )
    notices = Notices(app[composer_key], app[links_key], app[settings_key])
    revisions = Revisions(digests_of(app))
    webhooks = Fanout(app[settings_key].base_url, app[tagging_key].taxonomy, app[clock_key])
    every = frozenset(t.value for t in EventType)
    # Partners first (one transaction queues their deliveries: they hear within a second
    # whatever the mail has to do), then what a withdrawal or a narrowed audience takes back
    # from readers, then what is announced (docs/lifecycle.md). The feed and page caches are
    # emptied when the dispatcher is woken, before any of these. The names are stored on
    # events as they are handled: keep them.
    return [
        Registration("webhooks", frozenset(t.value for t in WEBHOOK_EVENTS), webhooks),
        Registration("digest-revisions", every, chunked=revisions.on_taken_back, when=taken_back),
        Registration("withdrawal-notices", every, chunked=notices.on_taken_back, when=taken_back),
        Registration(
            "alerts", frozenset({EventType.published, EventType.updated}), chunked=alerts.on_brief
        ),
    ]
