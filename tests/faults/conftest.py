"""The fault suite's fixtures: a fresh PostgreSQL database, an SMTP sink, instances on them.

The suite runs real ``learnhub serve`` processes, so it needs a PostgreSQL server to share
between them: it runs when LEARNHUB_TEST_DATABASE_URL names one (``.ci/run``'s second pass)
and is skipped on SQLite.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from service import db
from tests.faults.cluster import Cluster, environment, learnhub
from tests.smtp import SmtpServer

URL = os.environ.get("LEARNHUB_TEST_DATABASE_URL", "")
_numbers = itertools.count()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if URL.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="the fault suite needs LEARNHUB_TEST_DATABASE_URL on PostgreSQL")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(skip)


async def _server(statement: str) -> None:
    admin = make_url(URL).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A database of its own beside the suite's, dropped after the test."""
    url = make_url(URL)
    name = f"{url.database}_faults_{os.getpid()}_{next(_numbers)}"
    asyncio.run(_server(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sink() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def cluster(fresh_database: str, sink: SmtpServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    env = environment(fresh_database, sink.url, tmp_path)
    learnhub("db", "upgrade", env=env, cwd=tmp_path)
    engine = db.create_engine(fresh_database)
    cluster = Cluster(engine, sink, env, tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()
        await engine.dispose()
