"""Applying the Alembic migrations, from the command line or from a running event loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from service import db

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    await _migrate(url, _upgrade, revision)


async def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` (tests of a migration's data)."""
    await _migrate(url, _downgrade, revision)


async def _migrate(
    url: str, step: Callable[[Connection, Config, str], None], revision: str
) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(step, alembic_config(url), revision)
    finally:
        await engine.dispose()


async def is_current(url: str) -> bool:
    """Whether the database at ``url`` has every migration applied."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
    return current == head


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, revision)
    after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        log.info("database schema migrated from %s to %s", before or "empty", after)


def _downgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
