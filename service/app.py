"""The application factory: a table of contents of what the service is made of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import version

from aiohttp import web

from handlers.csrf import csrf_middleware
from handlers.errors import error_middleware
from handlers.middleware import security_headers, setup_metrics
from handlers.pages import setup_pages
from handlers.routes import setup_routes
from service import db
from service.briefs.service import Tagging
from service.clock import Clock, utcnow
from service.keys import (
    clock_key,
    engine_key,
    readonly_key,
    sessions_key,
    settings_key,
    tagging_key,
)
from service.settings import Settings
from service.tagging import Tagger
from service.taxonomy import default_taxonomy

MAX_BODY = 1024 * 1024


def create_app(settings: Settings, *, clock: Clock = utcnow) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[error_middleware, csrf_middleware])
    app[settings_key] = settings
    app[clock_key] = clock
    taxonomy = default_taxonomy()
    app[tagging_key] = Tagging(taxonomy=taxonomy, tagger=Tagger(taxonomy))
    app.cleanup_ctx.append(_database)
    app.on_response_prepare.append(security_headers)
    setup_pages(app)
    setup_metrics(app)
    setup_routes(app, version("learnhub"))
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = db.create_engine(app[settings_key].database_url)
    app[engine_key] = engine
    app[sessions_key] = db.sessionmaker(engine)
    app[readonly_key] = db.sessionmaker(engine, readonly=True)
    yield
    await engine.dispose()
