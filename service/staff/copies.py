"""Copies of the console editor's form, so that nothing typed is lost (issue 19, part 2).

One table, two kinds of row:

- a **working copy**: what a member of staff last had in one editor (one per member of staff
  and editor path), written by autosave while they type. Opening that editor again offers it
  back (restore or discard); it goes when the form is saved or the brief published, when
  discarded, or after ``WORKING_LIFETIME`` untouched. It never changes a brief: saving stays
  the publisher's act.
- a **kept form**: a post of the editor that met an ended session, kept under a random token
  of which only the SHA-256 is stored (the browser holds the token in a cookie), for
  ``KEPT_LIFETIME``. It is given back only to the member of staff it belongs to, once signed
  in again, and then becomes their working copy of that editor.

The form's fields are the caller's: this module stores them as they come, as JSON.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import Clock
from service.db import Base, UTCDateTime, dialect_insert, table_of
from service.staff.service import hash_token

logger = logging.getLogger(__name__)
KEPT_LIFETIME = timedelta(hours=24)
WORKING_LIFETIME = timedelta(days=30)
PURGE_EVERY = timedelta(hours=1)


class EditorCopy(Base):
    """A working copy (``token_hash`` null) or a kept form (the hash of its cookie's token)."""

    __tablename__ = "editor_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    # The editor it was typed in: /staff/briefs/new or /staff/briefs/{id}/edit.
    path: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        # One working copy per member of staff and editor; kept forms are told by their token.
        Index(
            "uq_editor_copies_working",
            "staff_id",
            "path",
            unique=True,
            sqlite_where=text("token_hash IS NULL"),
            postgresql_where=text("token_hash IS NULL"),
        ),
    )


async def save(
    session: AsyncSession, *, staff_id: int, path: str, fields: dict[str, Any], now: datetime
) -> None:
    """Write the working copy of ``path`` for the member of staff (one statement: two
    autosaves at once leave one row, the later)."""
    table = table_of(EditorCopy)
    insert = dialect_insert(session, table).values(
        staff_id=staff_id,
        path=path,
        token_hash=None,
        fields=fields,
        saved_at=now,
        expires_at=now + WORKING_LIFETIME,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["staff_id", "path"],
            index_where=table.c.token_hash.is_(None),
            set_={
                "fields": insert.excluded.fields,
                "saved_at": insert.excluded.saved_at,
                "expires_at": insert.excluded.expires_at,
            },
        )
    )


async def working(
    session: AsyncSession, *, staff_id: int, path: str, now: datetime
) -> EditorCopy | None:
    """The member of staff's working copy of ``path``, unless it has expired."""
    return await session.scalar(
        select(EditorCopy).where(
            EditorCopy.staff_id == staff_id,
            EditorCopy.path == path,
            EditorCopy.token_hash.is_(None),
            EditorCopy.expires_at > now,
        )
    )


async def discard(session: AsyncSession, *, staff_id: int, path: str) -> None:
    """The form was saved, published or its copy discarded: the member of staff's copies of
    ``path`` go, kept forms included (what they held is saved, or not wanted)."""
    await session.execute(
        delete(EditorCopy).where(EditorCopy.staff_id == staff_id, EditorCopy.path == path)
    )


async def keep(
    session: AsyncSession,
    *,
    staff_id: int,
    path: str,
    fields: dict[str, Any],
    now: datetime,
    replacing: str | None = None,
) -> str:
    """Keep a post that met an ended session; returns the token for the cookie.

    ``replacing`` is the token the browser already held, if any: a browser names one kept
    form at a time, so its earlier one (if the same person's) would be out of reach.
    """
    if replacing:
        await session.execute(
            delete(EditorCopy).where(
                EditorCopy.token_hash == hash_token(replacing), EditorCopy.staff_id == staff_id
            )
        )
    token = secrets.token_urlsafe(32)
    session.add(
        EditorCopy(
            staff_id=staff_id,
            path=path,
            token_hash=hash_token(token),
            fields=fields,
            saved_at=now,
            expires_at=now + KEPT_LIFETIME,
        )
    )
    await session.flush()
    return token


async def kept(session: AsyncSession, token: str, now: datetime) -> EditorCopy | None:
    """The kept form behind a cookie's token, unless it has expired. Whose it is, is for
    the caller to compare: only its owner, signed in, may have it back."""
    return await session.scalar(
        select(EditorCopy).where(
            EditorCopy.token_hash == hash_token(token), EditorCopy.expires_at > now
        )
    )


async def restore(
    session: AsyncSession, token: str, *, staff_id: int, path: str, now: datetime
) -> EditorCopy | None:
    """Give a kept form back to its owner in the editor it came from: the kept form goes and
    its fields become the owner's working copy (so that a reload loses nothing). None if the
    token names no live kept form of this member of staff for this editor."""
    found = await kept(session, token, now)
    if found is None or found.staff_id != staff_id or found.path != path:
        return None
    fields, saved_at = found.fields, found.saved_at
    await session.delete(found)
    await session.flush()
    await save(session, staff_id=staff_id, path=path, fields=fields, now=saved_at)
    return await working(session, staff_id=staff_id, path=path, now=now)


async def purge(session: AsyncSession, now: datetime) -> int:
    """Delete expired kept forms and working copies; returns how many."""
    result = await session.execute(delete(EditorCopy).where(EditorCopy.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_expired(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """The scheduler's hourly job (learnhub.schedule): expired copies are deleted."""
    async with sessions.begin() as session:
        purged = await purge(session, clock())
    if purged:
        logger.info("editor copies: deleted %d expired", purged)
    return purged
