"""Alembic environment: async engines, batch mode on SQLite, our metadata for autogenerate."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from learnhub.models import Base
from service import db
from service.settings import Settings

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out what the models don't describe: SQLite's full-text index and its shadows."""
    return not (type_ == "table" and (name or "").startswith("briefs_fts"))


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = db.create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
