"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from service import db
from service.migrate import alembic_config, downgrade, upgrade


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


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database beside the suite's, on the same kind of server, dropped after."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_scratch_{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)

    async def server(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(server(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(False)
    finally:
        asyncio.run(server(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_0006_moves_filters_to_masks_and_back(scratch_url: str) -> None:
    """Empty facets were "*" rows; 0006 makes them zero masks, and its downgrade puts them back."""
    codes = "SELECT subscriber_id, facet, code FROM subscription_codes ORDER BY 1, 2, 3"
    masks = "SELECT id, themes_mask, agencies_mask, boroughs_mask FROM subscribers ORDER BY id"

    async def go() -> None:
        await upgrade(scratch_url, "0005")
        engine = db.create_engine(scratch_url)
        async with engine.begin() as connection:
            for n, filters in enumerate(
                [
                    {"themes": ["neglect", "infants"], "agencies": ["*"], "boroughs": ["*"]},
                    {"themes": ["*"], "agencies": ["health"], "boroughs": ["wirral", "sefton"]},
                    {"themes": ["infants"], "agencies": ["*"], "boroughs": ["*"]},
                ],
                start=1,
            ):
                await connection.execute(
                    text(
                        "INSERT INTO subscribers (id, email, domain, created_at, status, "
                        "frequency, token_version) VALUES (:id, :email, 'nhs.net', "
                        "CURRENT_TIMESTAMP, 'active', 'weekly', 1)"
                    ),
                    {"id": n, "email": f"p{n}@nhs.net"},
                )
                for facet, chosen in filters.items():
                    for code in chosen:
                        await connection.execute(
                            text("INSERT INTO subscription_codes VALUES (:id, :facet, :code)"),
                            {"id": n, "facet": facet, "code": code},
                        )
            before = (await connection.execute(text(codes))).all()
        await upgrade(scratch_url)
        async with engine.connect() as connection:
            # Bits in order of the codes: infants 0, neglect 1; health 0; sefton 0, wirral 1.
            assert (await connection.execute(text(masks))).all() == [
                (1, 0b11, 0, 0),
                (2, 0, 0b1, 0b11),
                (3, 0b01, 0, 0),
            ]
            left = (await connection.execute(text(codes))).all()
            assert [row for row in before if row[2] != "*"] == left
        await downgrade(scratch_url, "0005")
        async with engine.connect() as connection:
            assert (await connection.execute(text(codes))).all() == before
        await engine.dispose()

    asyncio.run(go())


def test_mail_bodies_are_compressed_with_lz4_on_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite stores message bodies uncompressed")
    query = (
        "SELECT attcompression::text FROM pg_attribute "
        "WHERE attrelid = 'mail_messages'::regclass AND attname = 'body'"
    )

    async def go() -> str:
        engine = db.create_engine(database_url)
        async with engine.connect() as connection:
            found = await connection.scalar(text(query))
        await engine.dispose()
        return str(found)

    assert asyncio.run(go()) == "l"


def test_0008_names_only_what_each_delivery_showed(scratch_url: str) -> None:
    """Found by review: 0008 gave every old delivery its brief's current title, which for a
    brief narrowed since is a restricted title that notices would then name to outsiders."""
    brief = "5f0c6f5c-6a0b-4f4e-8a55-3d1f1e0c9a01"

    async def go() -> list[tuple[str, str]]:
        await upgrade(scratch_url, "0007")
        engine = db.create_engine(scratch_url)
        brief_id = brief if scratch_url.startswith("postgresql") else brief.replace("-", "")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO staff_members (id, email, role, token_hash, created_at) "
                    "VALUES (1, 's@nhs.net', 'publisher', 'x', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO briefs (id, title, summary, summary_html, learning_points, "
                    "source_review, source_board, audience, status, revision, created_at, "
                    "updated_at, published_at, created_by, publisher_facets) VALUES (:id, "
                    "'Operation Nightjar', 's', 's', '[]', 'r', 'b', 'practitioners', "
                    "'published', 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                    "1, '[]')"
                ),
                {"id": brief_id},
            )
            for n, (kind, subject) in enumerate(
                [("alert", "New learning brief: Public title"), ("digest", "Daily digest")],
                start=1,
            ):
                await connection.execute(
                    text(
                        "INSERT INTO mail_messages (id, idempotency_key, kind, recipient, "
                        "subject, status, attempts, next_attempt_at, created_at) VALUES (:n, "
                        ":key, :kind, 'a@gmail.com', :subject, 'sent', 1, CURRENT_TIMESTAMP, "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"n": n, "key": f"k{n}", "kind": kind, "subject": subject},
                )
                await connection.execute(
                    text("INSERT INTO mail_deliveries VALUES (:n, :brief, 1)"),
                    {"n": n, "brief": brief_id},
                )
        await upgrade(scratch_url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT m.kind, d.title FROM mail_deliveries d "
                    "JOIN mail_messages m ON m.id = d.message_id ORDER BY m.id"
                )
            )
            found = [(kind, title) for kind, title in rows]
        await engine.dispose()
        return found

    assert asyncio.run(go()) == [("alert", "Public title"), ("digest", "")]


def test_0010_adds_the_briefing_fields_and_keeps_the_search_triggers(scratch_url: str) -> None:
    """Columns added to briefs, old briefs with empty lists; down and up again, SQLite's
    full-text triggers on briefs are still there (a batch copy of the table would drop them)."""

    async def go() -> tuple[list[str], list[str], tuple[object, ...]]:
        await upgrade(scratch_url, "0009")
        engine = db.create_engine(scratch_url)
        sqlite = scratch_url.startswith("sqlite")
        brief = "5f0c6f5c-6a0b-4f4e-8a55-3d1f1e0c9a02"
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO staff_members (id, email, role, token_hash, created_at) "
                    "VALUES (1, 's@nhs.net', 'publisher', 'x', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO briefs (id, title, summary, summary_html, learning_points, "
                    "source_review, source_board, audience, status, revision, created_at, "
                    "updated_at, created_by, publisher_facets) VALUES (:id, 'Old', 's', 's', "
                    "'[]', 'r', 'b', 'public', 'draft', 1, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, 1, '[]')"
                ),
                {"id": brief.replace("-", "") if sqlite else brief},
            )

        async def triggers() -> list[str]:
            if not sqlite:
                return []
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
                )
                return [name for (name,) in rows]

        before = await triggers()
        await upgrade(scratch_url, "0010")
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT background, why_it_matters, actions, questions, resources "
                        "FROM briefs"
                    )
                )
            ).one()
        await downgrade(scratch_url, "0009")
        await upgrade(scratch_url, "0010")
        after = await triggers()
        await engine.dispose()
        return before, after, tuple(row)

    before, after, row = asyncio.run(go())
    assert after == before
    if scratch_url.startswith("sqlite"):
        assert any(name.startswith("briefs_fts") for name in after)
    assert row[:2] == (None, None)
    assert [v if isinstance(v, list) else json.loads(str(v)) for v in row[2:]] == [[], [], []]


def test_0016_adds_tag_weights_and_corrections_and_goes_back_without_losing_briefs(
    scratch_url: str,
) -> None:
    """Tags stored before have no weight; an old brief has nothing also mentioned; down again,
    the briefs and their tags are all there (a batch copy of briefs on SQLite would cascade)."""
    brief = "5f0c6f5c-6a0b-4f4e-8a55-3d1f1e0c9a16"

    async def go() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        await upgrade(scratch_url, "0015")
        engine = db.create_engine(scratch_url)
        brief_id = brief if scratch_url.startswith("postgresql") else brief.replace("-", "")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO staff_members (id, email, role, token_hash, created_at) "
                    "VALUES (1, 's@nhs.net', 'publisher', 'x', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO briefs (id, title, summary, summary_html, learning_points, "
                    "source_review, source_board, audience, status, revision, created_at, "
                    "updated_at, created_by, publisher_facets) VALUES (:id, 'Baby T', 's', "
                    "'s', '[]', 'r', 'b', 'public', 'draft', 1, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, 1, '[]')"
                ),
                {"id": brief_id},
            )
            await connection.execute(
                text(
                    "INSERT INTO brief_tags (brief_id, facet, code, source, evidence) "
                    "VALUES (:id, 'themes', 'safer-sleep', 'auto', '[]')"
                ),
                {"id": brief_id},
            )
        await upgrade(scratch_url, "0016")
        async with engine.connect() as connection:
            after = (
                await connection.execute(
                    text(
                        "SELECT t.code, t.weight, t.suggested, b.also_mentioned "
                        "FROM brief_tags t JOIN briefs b ON b.id = t.brief_id"
                    )
                )
            ).all()
            corrections = await connection.scalar(text("SELECT count(*) FROM tag_corrections"))
            assert corrections == 0
        await downgrade(scratch_url, "0015")
        async with engine.connect() as connection:
            back = (
                await connection.execute(
                    text(
                        "SELECT b.title, t.code FROM brief_tags t "
                        "JOIN briefs b ON b.id = t.brief_id"
                    )
                )
            ).all()
        await engine.dispose()
        return after, back

    after, back = asyncio.run(go())
    assert [(code, weight, suggested) for code, weight, suggested, _ in after] == [
        ("safer-sleep", None, None)
    ]
    mentioned = after[0][3]  # JSON comes back as text on SQLite
    assert (json.loads(mentioned) if isinstance(mentioned, str) else mentioned) == []
    assert back == [("Baby T", "safer-sleep")]


def test_0022_starts_the_days_of_those_who_had_already_left_every_group(
    scratch_url: str,
) -> None:
    """A person with no subscription of their own, in no group, once sent learning: they left
    their last group before anyone kept when, so their 28 days start at the upgrade."""
    person = (
        "INSERT INTO subscribers (id, email, domain, created_at, status, frequency, "
        "token_version) VALUES (:id, :email, 'nhs.net', CURRENT_TIMESTAMP, :status, 'weekly', 1)"
    )
    sent = (
        "INSERT INTO mail_messages (idempotency_key, kind, recipient, subject, status, attempts, "
        "next_attempt_at, created_at) VALUES (:key, :kind, :email, 'A brief', 'sent', 1, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )

    async def go() -> None:
        await upgrade(scratch_url, "0021")
        engine = db.create_engine(scratch_url)
        async with engine.begin() as connection:
            for n, (status, kind) in enumerate(
                [("none", "alert"), ("none", None), ("active", "digest"), ("none", "confirm")],
                start=1,
            ):
                email = f"p{n}@nhs.net"
                await connection.execute(text(person), {"id": n, "email": email, "status": status})
                if kind:
                    await connection.execute(
                        text(sent), {"key": f"k{n}", "kind": kind, "email": email}
                    )
        await upgrade(scratch_url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT id, left_group_at IS NOT NULL FROM subscribers ORDER BY id")
            )
            assert [(i, bool(left)) for i, left in rows] == [
                (1, True), (2, False), (3, False), (4, False)
            ]  # fmt: skip
        await downgrade(scratch_url, "0021")
        await engine.dispose()

    asyncio.run(go())
