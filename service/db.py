"""Engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, MetaData, Table, TypeDecorator, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """The conversion above, remembering the last value it converted.

        A job stamps all its rows with one time, and a claim's rows share one lease: 10,000
        alerts bind the same datetime object 20,000 times, at ~5 µs a conversion on SQLite.
        The memo is one (value, result) pair, replaced whole, so threads sharing it can only
        find a pair that belongs together; datetimes do not change, so identity is enough.
        """
        process = super().bind_processor(dialect)
        if process is None:
            return None
        last: tuple[Any, Any] = (object(), None)

        def remembered(value: Any) -> Any:
            nonlocal last
            seen, result = last
            if value is not seen:
                result = process(value)
                last = (value, result)
            return result

        return remembered

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, on either supported database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Learnhub supports PostgreSQL and SQLite, not {dialect}")


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


async def ping(session: AsyncSession) -> None:
    """One round trip to the database (the readiness probe's); raises if it cannot be made."""
    await session.execute(_PING)


_PING = text("SELECT 1")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that a
        # transaction that writes takes the lock up front and never fails half-way.
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def sessionmaker(
    engine: AsyncEngine, *, readonly: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions for writing, or (``readonly``) for reading without taking SQLite's write lock."""
    bind = engine.execution_options(learnhub_readonly=True) if readonly else engine
    return async_sessionmaker(bind, expire_on_commit=False)


@dataclass
class Database:
    """A long-running process's engines: writes through ``sessions``, reads through ``readonly``.

    SQLite lets one connection write at a time. Left to itself, each writer waiting for the
    lock spins in SQLite's busy handler, which sleeps in growing steps of up to 100 ms, so
    under concurrent writes most of a request's time was spent asleep with the lock free.
    Here a process's writers share one connection instead: they queue for it in the pool,
    first come first served, and each is woken the moment the one before commits. Readers
    have a pool of their own, and in WAL mode never wait for the writer. (Other processes,
    a CLI command beside the server or the server's fan-out process inserting a
    publication's alerts in short transactions, still meet at SQLite's lock.) On PostgreSQL
    both are one ordinary pool.
    """

    engine: AsyncEngine
    reader: AsyncEngine
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    readonly: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine)
        self.readonly = sessionmaker(self.reader, readonly=True)

    @classmethod
    def open(cls, url: str) -> Database:
        if not url.startswith("sqlite"):
            engine = create_engine(url)
            return cls(engine, engine)
        # A waiter gives up after as long as SQLite's busy timeout would have let it wait.
        writer = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=30)
        return cls(writer, create_engine(url))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.reader is not self.engine:
            await self.reader.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    readonly = connection.get_execution_options().get("learnhub_readonly", False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
