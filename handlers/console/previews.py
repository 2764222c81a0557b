"""A brief as subscribers will see it: the alert email, and the feed entry."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiohttp import web

from learnhub.keys import clock_key, composer_key, settings_key, tagging_key
from service.briefs.briefing import email_context
from service.briefs.models import Brief
from service.feeds.build import FeedItem, FeedMeta, categories, entry_html, render_feed
from service.staff.models import StaffMember


def email(request: web.Request, brief: Brief, staff: StaffMember) -> dict[str, Any]:
    """The alert email, rendered by the same templates the Composer sends."""
    base_url = request.app[settings_key].base_url
    context = {
        **email_context(brief, base_url),
        "brief": brief,
        "brief_url": f"{base_url}/briefs/{brief.id}",
        "change_note": None,
        "urgent_reason": brief.urgent_reason if brief.urgent else None,
        "back": False,
        "reasons": ["this is a preview for staff; subscribers see their own choices here"],
        "manage_url": f"{base_url}/subscribe",
        # Each subscriber's own "I've read this" link; this one opens the link error page.
        "acknowledge_url": f"{base_url}/acknowledge/preview",
        "discuss_url": f"{base_url}/discussions/new/preview",
    }
    composed = request.app[composer_key].compose(
        "alert", staff.email, context, now=request.app[clock_key]()
    )
    message = cast(EmailMessage, message_from_bytes(composed.message, policy=policy.default))
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return {
        "subject": composed.subject,
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }


def feed(request: web.Request, brief: Brief) -> dict[str, Any]:
    """The brief's Atom entry, as a feed reader would receive it."""
    app = request.app
    base_url = app[settings_key].base_url
    now = app[clock_key]()
    item = FeedItem(
        id=brief.id,
        title=brief.title,
        url=f"{base_url}/briefs/{brief.id}",
        published=brief.published_at or now,
        updated=brief.notified_at or brief.published_at or now,
        html=entry_html(brief),
        categories=categories(brief, app[tagging_key].taxonomy, base_url),
    )
    meta = FeedMeta(
        title="Preview",
        description="A preview of one entry",
        self_url=f"{base_url}/feeds/briefs.atom",
        alternate_url=f"{base_url}/",
        updated=item.updated,
    )
    return {"item": item, "xml": render_feed("atom", meta, [item]).decode()}
