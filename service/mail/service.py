"""Queueing email inside the caller's transaction, and the retention of what was sent.

Nothing here commits: the caller's transaction decides whether the mail exists at all, so an
email is queued if and only if the change that caused it is committed.

Messages whose contexts differ only in the recipient's own values are rendered once (see
``Drafts``): a job that mails many people names those values in each ``Outgoing``'s
``personal`` and passes one ``Drafts`` to each of its calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import dialect_insert, table_of
from service.mail.compose import (
    UNSUBSCRIBE,
    Composed,
    Composer,
    Draft,
    Fragments,
    normalise_address,
)
from service.mail.models import MailDelivery, MailMessage, MailStatus, MailSuppression

CHUNK = 500
# Rows a multi-row INSERT of messages carries. SQLite's driver keeps the statements it ran
# (128 a connection), each holding the values it was last bound until it runs again: one
# INSERT per count of rows, each keeping that many bodies. In a 100,000-person digest run,
# batches of every size from 1 to 250 kept SQLite's memory at 70-95 MB and growing; pages of
# at most 32 rows keep it at 10-20 MB (bench/README.md, 4 December 2026).
MESSAGES_A_PAGE = 32
MAX_KEY = 255
DRAFTS = 2000
T = TypeVar("T")
RENDER_SLICE = 8  # messages rendered between two turns of the event loop (about 1 ms)


@dataclass(frozen=True, slots=True)
class Carried:
    """A brief a message carries, as the message shows it: kept on the delivery record."""

    brief_id: uuid.UUID
    revision: int
    publication: int
    title: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An email to queue. ``key`` names what it is about, so that queueing it twice is harmless.

    ``personal`` names the values in ``context`` that are the recipient's own (links with
    their token): they are filled in after rendering, so that everyone whose context is
    otherwise equal shares one rendering. The unsubscribe link is always one of them.
    """

    kind: str
    recipient: str
    key: str
    context: Mapping[str, Any]
    unsubscribe_url: str | None = None
    briefs: Sequence[Carried] = ()
    personal: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < len(self.key) <= MAX_KEY:
            raise ValueError(f"an idempotency key has 1 to {MAX_KEY} characters: {self.key!r}")

    def values(self) -> dict[str, str]:
        """The recipient's own values, by name, with the unsubscribe link."""
        values = {name: self.context[name] for name in self.personal}
        if self.unsubscribe_url is not None:
            values[UNSUBSCRIBE] = self.unsubscribe_url
        return values


class Drafts:
    """Renderings shared by the messages of one job (an alert to everyone, a digest run).

    A draft is keyed by the kind, the personal names and the other items of the context,
    so messages share one only if those are equal: values compare by value (strings,
    tuples, frozen dataclasses) or by identity (rows, which do not change during a job). A
    context holding a list or a dict cannot be a key, and is rendered for its message
    alone. The least recently used drafts beyond ``size`` are dropped, to bound memory.
    The job's drafts also share the parts their templates mark ``{% cache %}``.
    """

    def __init__(self, size: int = DRAFTS) -> None:
        self.size = size
        self._drafts: OrderedDict[Hashable, Draft] = OrderedDict()
        self._fragments = Fragments()

    def get(self, composer: Composer, outgoing: Outgoing) -> Draft:
        """The draft for ``outgoing``, with a hole for each of ``Outgoing.values()``."""
        kind, context, own = outgoing.kind, outgoing.context, outgoing.personal
        shared = tuple((k, v) for k, v in context.items() if k not in own)
        key = (kind, own, outgoing.unsubscribe_url is None, shared)
        names = own if outgoing.unsubscribe_url is None else (*own, UNSUBSCRIBE)
        try:
            draft = self._drafts.get(key)
        except TypeError:  # unhashable: nothing to share it with
            return composer.prepare(kind, context, names, self._fragments)
        if draft is None:
            draft = composer.prepare(kind, context, names, self._fragments)
            self._drafts[key] = draft
            if len(self._drafts) > self.size:
                self._drafts.popitem(last=False)
        else:
            self._drafts.move_to_end(key)
        return draft


@dataclass(frozen=True, slots=True)
class Prepared:
    """An email rendered and ready to insert; see ``prepare_many``."""

    outgoing: Outgoing
    row: dict[str, Any]


async def enqueue(
    session: AsyncSession, outgoing: Outgoing, *, composer: Composer, now: datetime
) -> bool:
    """Render and queue one email; False if its key was queued before or it is suspended."""
    return await enqueue_many(session, [outgoing], composer=composer, now=now) == 1


async def enqueue_many(
    session: AsyncSession,
    outgoings: Sequence[Outgoing],
    *,
    composer: Composer,
    now: datetime,
    drafts: Drafts | None = None,
) -> int:
    """Render and queue emails in chunks, one INSERT per chunk; returns how many were new.

    A job that calls this more than once passes the same ``drafts`` to each call.
    """
    prepared = await prepare_many(session, outgoings, composer=composer, now=now, drafts=drafts)
    return await enqueue_prepared(session, prepared)


async def prepare_many(
    session: AsyncSession,
    outgoings: Sequence[Outgoing],
    *,
    composer: Composer,
    now: datetime,
    drafts: Drafts | None = None,
) -> list[Prepared]:
    """Render the emails not queued before and not to a suspended address: the costly half of
    ``enqueue_many``. It only reads, so a job that mails many people calls it with a read
    session and then ``enqueue_prepared`` in a short write transaction: on SQLite, others
    (the mail worker) need not wait for the rendering to get at the database.

    The checks are a saving, not the guarantee: the unique key decides at the INSERT, and
    the mail worker skips an address suspended in between.
    """
    drafts = Drafts() if drafts is None else drafts
    prepared: list[Prepared] = []
    for start in range(0, len(outgoings), CHUNK):
        prepared += await _prepare_chunk(
            session, outgoings[start : start + CHUNK], composer, drafts, now
        )
    return prepared


async def enqueue_prepared(session: AsyncSession, prepared: Sequence[Prepared]) -> int:
    """Queue what ``prepare_many`` rendered, in the caller's transaction; how many were new."""
    new = 0
    for start in range(0, len(prepared), CHUNK):
        chunk = prepared[start : start + CHUNK]
        inserted = await _insert_messages(session, [p.row for p in chunk])
        await _insert_deliveries(session, [p.outgoing for p in chunk], inserted)
        new += len(inserted)
    return new


async def overlapped(
    prepared: AsyncGenerator[T, None], write: Callable[[T], Awaitable[None]]
) -> None:
    """``write`` each item while the next is being prepared: the way a job that mails many
    people keeps its write transactions short without idling between them.

    Writes run one at a time, in order; a failed write stops the job at the next item and
    is raised. The item being prepared when a write fails is dropped, unwritten.
    """
    writing: asyncio.Future[None] | None = None
    try:
        async with contextlib.aclosing(prepared):
            async for item in prepared:
                if writing is not None:
                    previous, writing = writing, None
                    await previous
                writing = asyncio.ensure_future(write(item))
    finally:
        if writing is not None:
            await writing


async def suppressed(session: AsyncSession, emails: Iterable[str]) -> set[str]:
    """The addresses among ``emails`` that are suspended and must not be mailed."""
    wanted = sorted({email.lower() for email in emails})
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(await session.scalars(_SUSPENDED, {"emails": wanted[start : start + CHUNK]}))
    return found


# IN lists as one expanding parameter of a statement built once: built anew with each list,
# coercing every value into a parameter of its own, they cost more than the queries.
_SUSPENDED = select(MailSuppression.email).where(
    MailSuppression.email.in_(bindparam("emails", expanding=True)),
    MailSuppression.suspended_at.is_not(None),
)
_EXISTING = select(MailMessage.idempotency_key).where(
    MailMessage.idempotency_key.in_(bindparam("keys", expanding=True))
)


async def purge_bodies(
    session: AsyncSession, *, now: datetime, older_than: timedelta = timedelta(days=30)
) -> int:
    """Drop the bodies of messages sent before ``now - older_than``, and of those never sent
    (failed, cancelled) queued before it; rows and deliveries stay."""
    before = now - older_than
    never_sent = (MailStatus.failed.value, MailStatus.cancelled.value)
    statement = (
        update(MailMessage)
        .where(
            or_(
                (MailMessage.status == MailStatus.sent.value) & (MailMessage.sent_at < before),
                MailMessage.status.in_(never_sent) & (MailMessage.created_at < before),
            ),
            MailMessage.body.is_not(None),
        )
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], await session.execute(statement)).rowcount


async def _prepare_chunk(
    session: AsyncSession,
    chunk: Sequence[Outgoing],
    composer: Composer,
    drafts: Drafts,
    now: datetime,
) -> list[Prepared]:
    # The first of two messages with one key wins, as it would across two transactions.
    unique: dict[str, Outgoing] = {}
    for outgoing in chunk:
        unique.setdefault(outgoing.key, outgoing)
    # Skipping known keys before rendering makes a rerun of a large job cheap; the unique
    # constraint, not this check, is what keeps two concurrent runs from queueing twice.
    for key in await _existing_keys(session, list(unique)):
        del unique[key]
    blocked = await suppressed(session, (normalise_address(o.recipient) for o in unique.values()))
    todo = [o for o in unique.values() if normalise_address(o.recipient) not in blocked]
    if not todo:
        return []
    return await _render(composer, drafts, todo, now)


async def _existing_keys(session: AsyncSession, keys: list[str]) -> list[str]:
    return list(await session.scalars(_EXISTING, {"keys": keys}))


async def _render(
    composer: Composer, drafts: Drafts, todo: Sequence[Outgoing], now: datetime
) -> list[Prepared]:
    # On the event loop, a slice at a time. Not in a thread: a thread rendering for long
    # holds the GIL in 5 ms turns, and every SMTP reply the mail worker waits for would
    # wait that long too.
    prepared = []
    for n, o in enumerate(todo, start=1):
        draft = drafts.get(composer, o)
        composed = composer.finish(draft, o.recipient, o.values(), now=now)
        prepared.append(Prepared(o, _message_row(o.key, o.kind, composed, now)))
        if n % RENDER_SLICE == 0:
            await asyncio.sleep(0)
    return prepared


def _message_row(key: str, kind: str, composed: Composed, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "kind": kind,
        "recipient": composed.recipient,
        "subject": composed.subject,
        "body": composed.message,
        "status": MailStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def _insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING; the ids of the new rows by key."""
    table = table_of(MailMessage)
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id, table.c.idempotency_key)
        .execution_options(insertmanyvalues_page_size=MESSAGES_A_PAGE)
    )
    # Executed with many rows, SQLAlchemy sends one multi-row INSERT per page of rows
    # ("insertmanyvalues"), from a statement it compiles once.
    result = await session.execute(statement, rows)
    return {key: id_ for id_, key in result}


async def _insert_deliveries(
    session: AsyncSession, todo: Sequence[Outgoing], inserted: dict[str, int]
) -> None:
    """Who was sent which brief, for the new messages only."""
    deliveries = [
        {
            "message_id": inserted[o.key],
            "brief_id": carried.brief_id,
            "revision": carried.revision,
            "publication": carried.publication,
            "title": carried.title,
        }
        for o in todo
        if o.key in inserted
        for carried in o.briefs
    ]
    if deliveries:
        insert = dialect_insert(session, table_of(MailDelivery)).on_conflict_do_nothing()
        await session.execute(insert, deliveries)
