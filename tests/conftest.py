"""Fixtures: a real database (SQLite, or PostgreSQL via LEARNHUB_TEST_DATABASE_URL), the app,
an HTTP client, staff tokens and a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from learnhub.app import create_app
from learnhub.models import Base
from service import db
from service.migrate import upgrade
from service.settings import Settings
from service.staff import service as staff_service
from service.staff.models import Role

SHARED = Path(__file__).resolve().parents[2] / "shared"


class Clock:
    """A clock that only moves when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("LEARNHUB_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    asyncio.run(upgrade(url))
    yield url


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        base_url="https://learnhub.example",
        secret_key="test-secret-key",  # type: ignore[arg-type]  # noqa: S106
        maildir=tmp_path / "mail",
        practitioner_domains="nhs.net,merseyside.police.uk",  # type: ignore[arg-type]
    )


async def wipe(engine: AsyncEngine) -> None:
    """Empty every table, so that each test starts from a blank, migrated database."""
    async with db.sessionmaker(engine).begin() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(settings.database_url)
    await wipe(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.sessionmaker(engine)


@pytest.fixture
async def client(
    aiohttp_client: object, settings: Settings, clock: Clock, engine: AsyncEngine
) -> TestClient:
    return await aiohttp_client(create_app(settings, clock=clock))  # type: ignore[operator]


async def _token(sessions: async_sessionmaker[AsyncSession], email: str, role: Role) -> str:
    async with sessions.begin() as session:
        return await staff_service.create(session, email=email, role=role, now=datetime.now(UTC))


@pytest.fixture
async def publisher(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    token = await _token(sessions, "publisher@merseyside.police.uk", Role.publisher)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    token = await _token(sessions, "admin@merseyside.police.uk", Role.admin)
    return {"Authorization": f"Bearer {token}"}
