"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy.engine import Connection

from service import db
from service.migrate import alembic_config


def test_models_and_migrations_agree(database_url: str) -> None:
    def check(connection: Connection) -> None:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.check(config)  # raises if autogenerate would change anything

    async def go() -> None:
        engine = db.create_engine(database_url)
        async with engine.connect() as connection:
            await connection.run_sync(check)
        await engine.dispose()

    asyncio.run(go())
