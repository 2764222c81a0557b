"""Server-rendered pages: Jinja2 with autoescape, GOV.UK Frontend styles, static files, and
a brief's tags with their labels as pages show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from handlers import csrf, reader
from handlers.reader import practitioner, sign_in_url
from learnhub.keys import settings_key, tagging_key
from service.briefs.models import Brief
from service.feeds.links import feed_links
from service.feeds.service import TITLE as FEEDS_TITLE
from service.taxonomy import FACETS, Facet, Taxonomy
from subscribers.subscriptions.choices import Schedule

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def setup_pages(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["SERVICE_NAME"] = "Merseyside Safeguarding Learning Hub"
    app.router.add_static(
        "/static", STATIC, name="static", follow_symlinks=False, append_version=True
    )
    reader.setup(app)  # every page shows who is signed in


class LazyToken:
    """The page's CSRF token, made only when a template writes it: a page without a form then
    sets no ``lh_csrf`` cookie (and a cached page carries no one else's)."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = csrf.token(self._request)
        return self._value

    def __html__(self) -> str:  # Jinja's autoescape asks this of an object; hex needs no escaping
        return str(self)


def context_for(request: web.Request) -> dict[str, Any]:
    """What every page's template may use."""
    return {
        "request": request,
        "error_summary": {},
        "csrf_token": LazyToken(request),
        "base_url": request.app[settings_key].base_url,
        # Every page advertises the all-briefs feed; a page may pass feeds of its own instead.
        "feed_links": feed_links(request.app[settings_key].base_url, FEEDS_TITLE),
        "taxonomy": request.app[tagging_key].taxonomy,
        "static": lambda path: request.app.router["static"].url_for(filename=path),
        "practitioner": practitioner(request),
        # The frequency choices, with the digests' day and time (the subscribe and manage forms).
        "frequencies": Schedule.of(request.app[settings_key]).labels(),
        "sign_in_url": sign_in_url(request),
    }


def render(
    template: str, request: web.Request, context: dict[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {**context_for(request), **context}, status=status
    )


def wants_html(request: web.Request) -> bool:
    """Pages answer errors in HTML; the API and machine routes answer JSON."""
    if request.path.startswith(("/api/", "/feeds/", "/healthz", "/readyz", "/metrics")):
        return False
    return "text/html" in request.headers.get("Accept", "") or request.method == "POST"


@dataclass(frozen=True)
class Tag:
    facet: Facet
    code: str
    label: str


def labels(brief: Brief, taxonomy: Taxonomy) -> list[Tag]:
    """The brief's tags with their labels, facet by facet in taxonomy order."""
    found = []
    for facet in FACETS:
        for code in brief.codes(facet):
            try:
                label = taxonomy.get(facet, code).label
            except KeyError:  # a code since retired from the taxonomy still names itself
                label = code
            found.append(Tag(facet, code, label))
    return found


def withdrawn_page(request: web.Request, brief: Brief, *, named: bool) -> web.Response:
    """410 for a withdrawn brief: its title and public reason only to those who may read it."""
    context = withdrawn_context(request.app[settings_key].zone, brief, named=named)
    return render("site/withdrawn.html", request, context, status=410)


def withdrawn_context(zone: tzinfo, brief: Brief, *, named: bool) -> dict[str, Any]:
    return {
        "title": brief.title if named else None,
        "reason": brief.withdrawn_reason if named else None,
        "withdrawn_on": brief.withdrawn_at.astimezone(zone) if brief.withdrawn_at else None,
    }
