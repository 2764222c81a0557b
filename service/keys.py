"""Typed keys of what the application holds: one place, so that handlers and jobs agree."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.briefs.service import Tagging
from service.clock import Clock
from service.settings import Settings

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", async_sessionmaker[AsyncSession])
readonly_key = web.AppKey("readonly_sessions", async_sessionmaker[AsyncSession])
tagging_key = web.AppKey("tagging", Tagging)
clock_key: web.AppKey[Clock] = web.AppKey("clock")
