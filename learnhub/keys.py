"""Typed keys of what the application holds: one place, so that handlers and jobs agree."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.briefs.service import Tagging
from service.clock import Clock
from service.events.dispatcher import Dispatcher
from service.feeds.cache import FeedCache
from service.limits import Limiter
from service.mail.compose import Composer
from service.mail.worker import MailWorker
from service.requests.worker import RequestWorker
from service.settings import Settings
from service.webhooks.worker import WebhookWorker
from subscribers.subscriptions.links import Links

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", async_sessionmaker[AsyncSession])
readonly_key = web.AppKey("readonly_sessions", async_sessionmaker[AsyncSession])
tagging_key = web.AppKey("tagging", Tagging)
clock_key: web.AppKey[Clock] = web.AppKey("clock")
feed_cache_key = web.AppKey("feed_cache", FeedCache)
links_key = web.AppKey("links", Links)
limiter_key = web.AppKey("limiter", Limiter)
composer_key = web.AppKey("composer", Composer)
mail_worker_key = web.AppKey("mail_worker", MailWorker)
dispatcher_key = web.AppKey("dispatcher", Dispatcher)
requests_key = web.AppKey("link_requests", RequestWorker)
webhook_worker_key = web.AppKey("webhook_worker", WebhookWorker)
