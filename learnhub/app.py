"""The application factory: a table of contents of what the service is made of."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version

from aiohttp import web
from aiohttp.typedefs import Middleware

from digests.revise import Revisions
from handlers.console.imports import upload_limit
from handlers.csrf import csrf_middleware, set_new_cookie
from handlers.errors import error_middleware
from handlers.inputs import refuse_nul
from handlers.metrics import setup_metrics
from handlers.middleware import forwarded_client, on_prepare, security_headers
from handlers.page_cache import PageCache, page_cache_key
from handlers.pages import setup_pages
from handlers.reader import private_responses
from handlers.routes import setup_routes
from learnhub.events import registrations
from learnhub.keys import (
    clock_key,
    composer_key,
    dispatcher_key,
    engine_key,
    feed_cache_key,
    limiter_key,
    links_key,
    mail_worker_key,
    readonly_key,
    requests_key,
    sessions_key,
    settings_key,
    tagging_key,
    webhook_worker_key,
)
from learnhub.requests import link_handlers
from learnhub.schedule import digests_of
from learnhub.schedule import schedule as digest_schedule
from service import db
from service.briefs.service import Tagging
from service.clock import Clock, utcnow
from service.events.dispatcher import Dispatcher, Later
from service.feeds.cache import FeedCache
from service.limits import Limiter
from service.mail.compose import Composer
from service.mail.senders import sender_from_settings
from service.mail.verp import ReturnPath, return_path_from
from service.mail.worker import MailWorker
from service.requests.worker import RequestWorker
from service.settings import Settings
from service.tagging import Tagger
from service.taxonomy import default_taxonomy
from service.webhooks.transport import Transport
from service.webhooks.worker import WebhookWorker
from subscribers.alerts.notices import recheck_audience
from subscribers.subscriptions.links import Links
from subscribers.subscriptions.tokens import Tokens

MAX_BODY = 1024 * 1024


def create_app(
    settings: Settings, *, clock: Clock = utcnow, run_workers: bool = True
) -> web.Application:
    """The application; ``run_workers=False`` leaves background work to the caller (tests)."""
    # The upload's larger body limit is set before the CSRF middleware reads the form.
    middlewares: list[Middleware] = [error_middleware, upload_limit, refuse_nul, csrf_middleware]
    if settings.trusted_proxies:
        middlewares.insert(0, forwarded_client(settings.trusted_proxies))
    app = web.Application(client_max_size=MAX_BODY, middlewares=middlewares)
    app[settings_key] = settings
    app[clock_key] = clock
    app[feed_cache_key] = FeedCache(clock)
    app[page_cache_key] = PageCache(clock)
    taxonomy = default_taxonomy()
    app[tagging_key] = Tagging(taxonomy=taxonomy, tagger=Tagger(taxonomy))
    app[links_key] = Links(settings.base_url, Tokens(settings.signing_key(), clock))
    app[limiter_key] = Limiter(settings.rate_limit_storage)
    app[composer_key] = Composer.from_settings(settings)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_mail(run_workers))
    app.cleanup_ctx.append(_requests(run_workers))
    app.cleanup_ctx.append(_webhooks(run_workers))
    app.cleanup_ctx.append(_dispatcher(run_workers))
    app.cleanup_ctx.append(digest_schedule(run_workers))
    # As each response is prepared, error pages included: what every response carries.
    app.on_response_prepare.append(
        on_prepare(
            security_headers(settings.base_url.startswith("https://")),
            set_new_cookie,  # a form's CSRF cookie, when the page made one
            private_responses,  # a signed-in practitioner's responses are theirs alone
        )
    )
    setup_pages(app)
    setup_metrics(app)
    setup_routes(app, version("learnhub"))
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    database = db.Database.open(app[settings_key].database_url)
    app[engine_key] = database.engine
    app[sessions_key] = database.sessions
    app[readonly_key] = database.readonly
    yield
    await database.dispose()


def _mail(run_workers: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    """The sender and the mail worker; the worker runs only when ``run_workers``."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[settings_key]
        sender = sender_from_settings(settings)
        worker = MailWorker(
            app[sessions_key],
            sender,
            app[clock_key],
            envelope_from=app[composer_key].envelope_from,
            return_path=_addresses(return_path_from(settings)),
            concurrency=settings.mail_concurrency,
        )
        app[mail_worker_key] = worker
        if run_workers:
            await _take_back_for_new_domains(app)
            worker.start()
        yield
        await worker.stop()
        await sender.close()

    return context


def _addresses(return_path: ReturnPath | None) -> Callable[[int], str] | None:
    return None if return_path is None else return_path.address


async def _take_back_for_new_domains(app: web.Application) -> None:
    """Before any mail goes: restricted briefs queued to addresses that the practitioner
    domains no longer cover are taken back (cancelled, digests rewritten without them)."""
    sessions = app[sessions_key]
    revisions = Revisions(digests_of(app))
    for event in await recheck_audience(sessions, app[settings_key], app[clock_key]()):
        with contextlib.suppress(Later):  # a send in flight: the dispatcher waits for it
            await revisions.on_taken_back(sessions, event, lambda: None)


def _requests(run_workers: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    """Link requests (subscribe, staff sign-in), handled after they were answered."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        worker = RequestWorker(
            app[sessions_key], app[clock_key], link_handlers(app), after=app[mail_worker_key].wake
        )
        app[requests_key] = worker
        if run_workers:
            worker.start()
        yield
        await worker.stop()

    return context


def _dispatcher(run_workers: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    """The event dispatcher and the handlers each event type fans out to."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        def after() -> None:  # an event was handled: mail and deliveries may be due
            app[mail_worker_key].wake()
            app[webhook_worker_key].wake()

        def changed() -> None:
            """Woken, it empties the feed and page caches at once: a change committed here
            (every handler that writes an event wakes it after the commit) or, on
            PostgreSQL, in another instance (NOTIFY) is in the feeds and on the public pages
            at their next request."""
            app[feed_cache_key].invalidate()
            app[page_cache_key].invalidate()

        app[dispatcher_key] = dispatcher = Dispatcher(
            app[sessions_key], app[clock_key], registrations(app), after=after, woken=changed
        )
        if run_workers:
            dispatcher.start(app[engine_key])
        yield
        await dispatcher.stop()

    return context


def _webhooks(run_workers: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    """The webhook worker, posting partners' deliveries (service/webhooks)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        transport = Transport(allow_private=app[settings_key].webhooks_allow_private)
        worker = WebhookWorker(
            app[sessions_key],
            app[clock_key],
            transport,
            composer=app[composer_key],
            after=app[mail_worker_key].wake,
        )
        app[webhook_worker_key] = worker
        if run_workers:
            worker.start()
        yield
        await worker.stop()
        await transport.close()

    return context
