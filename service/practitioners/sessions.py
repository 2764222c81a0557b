"""Practitioner sign-in by a one-time emailed link, and the reading sessions it opens.

The staff sign-in's pattern (``service/staff/sessions.py``), for readers: any address in the
practitioner domains may ask for a link, subscribed or not. A link works once, for 15
minutes, and remembers the page to return to. A session ends after 30 days without a
request, and at the first request after its address's domain leaves the practitioner
domains, so a change of settings shuts out restricted learning at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.audience import in_domains
from service.errors import DomainError
from service.mail.compose import Composer
from service.mail.service import Outgoing, enqueue
from service.practitioners.models import PractitionerSession, PractitionerSignInLink
from service.staff.service import hash_token, normalise_email

LINK_LIFETIME = timedelta(minutes=15)
IDLE = timedelta(days=30)
# Writing last_seen on every page costs a write lock on SQLite; a minute's slack is harmless.
TOUCH_AFTER = timedelta(minutes=1)
MAX_NEXT = 500  # the column's width


class LinkProblem(DomainError):
    code = "invalid_token"
    status = 404


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie; only its hash is stored
    next_path: str


@dataclass(frozen=True)
class Seen:
    """What a read-only look at a session found: who, and whether a write is due."""

    email: str | None
    stale: bool  # last_seen needs a touch, or the session must end


def is_practitioner(email: str, practitioner_domains: Iterable[str]) -> bool:
    return in_domains(email.rpartition("@")[2], practitioner_domains)


def local_path(value: str | None) -> str:
    """``value`` if it is a path on this site, else "/": a link must never lead elsewhere.

    To a browser "//host" and "/\\host" are addresses on other sites, and a path that does
    not start with "/" may be one with a scheme; spaces and control characters have no
    business in a path of ours.
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/") or "\\" in value:
        return "/"
    if value.startswith("//") or any(c <= " " or c == "\x7f" for c in value):
        return "/"
    return value


async def request_link(
    session: AsyncSession,
    email: str,
    next_path: str,
    *,
    practitioner_domains: Iterable[str],
    composer: Composer,
    base_url: str,
    now: datetime,
) -> bool:
    """Email a sign-in link if ``email`` is in the practitioner domains; True if one was queued."""
    try:
        address = normalise_email(email)
    except DomainError:
        return False
    if not is_practitioner(address, practitioner_domains):
        return False
    token = secrets.token_urlsafe(32)
    link = PractitionerSignInLink(
        token_hash=hash_token(token),
        email=address,
        next_path=local_path(next_path),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    await session.flush()
    context = {"url": f"{base_url}/practitioners/sign-in/{token}", "minutes": 15, "email": address}
    outgoing = Outgoing(
        kind="practitioner_sign_in",
        recipient=address,
        key=f"practitioner-sign-in:{link.id}",
        context=context,
    )
    return await enqueue(session, outgoing, composer=composer, now=now)


async def read_link(session: AsyncSession, token: str, now: datetime) -> PractitionerSignInLink:
    """The link behind ``token`` if it can still be used; reading it changes nothing."""
    link = await session.scalar(
        select(PractitionerSignInLink).where(PractitionerSignInLink.token_hash == hash_token(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkProblem(
            "This sign-in link has been used or has expired. Each link works once, for 15 "
            "minutes: ask for a new one."
        )
    return link


async def sign_in(session: AsyncSession, token: str, now: datetime) -> SignedIn:
    """Use up the link and open a session."""
    link = await read_link(session, token, now)
    # A conditional update, so that two presses of one link can't open two sessions.
    used = await session.execute(
        update(PractitionerSignInLink)
        .where(PractitionerSignInLink.id == link.id, PractitionerSignInLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkProblem("This sign-in link has been used. Ask for a new one.")
    secret = secrets.token_urlsafe(32)
    session.add(
        PractitionerSession(
            token_hash=hash_token(secret), email=link.email, created_at=now, last_seen_at=now
        )
    )
    await session.flush()
    return SignedIn(token=secret, next_path=local_path(link.next_path))


def _valid(record: PractitionerSession, now: datetime, domains: Iterable[str]) -> bool:
    return now - record.last_seen_at < IDLE and is_practitioner(record.email, domains)


async def _find(session: AsyncSession, token: str) -> PractitionerSession | None:
    return await session.scalar(
        select(PractitionerSession).where(PractitionerSession.token_hash == hash_token(token))
    )


async def peek(
    session: AsyncSession, token: str, now: datetime, practitioner_domains: Iterable[str]
) -> Seen:
    """``current`` without writing, for a read-only session: pages call ``current`` only
    when this says a write is due, so that reading takes no write lock."""
    record = await _find(session, token)
    if record is None:
        return Seen(email=None, stale=False)
    domains = tuple(practitioner_domains)
    if not _valid(record, now, domains):
        return Seen(email=None, stale=True)
    return Seen(email=record.email, stale=now - record.last_seen_at >= TOUCH_AFTER)


async def current(
    session: AsyncSession, token: str, now: datetime, practitioner_domains: Iterable[str]
) -> str | None:
    """The practitioner's address behind a session cookie; a session idle for 30 days, or
    whose address is no longer in the practitioner domains, is ended."""
    record = await _find(session, token)
    if record is None:
        return None
    if not _valid(record, now, tuple(practitioner_domains)):
        await session.delete(record)
        return None
    if now - record.last_seen_at >= TOUCH_AFTER:
        record.last_seen_at = now
    return record.email


async def end(session: AsyncSession, token: str) -> None:
    """Sign out: the session's row goes, so the cookie opens nothing any more."""
    await session.execute(
        delete(PractitionerSession).where(PractitionerSession.token_hash == hash_token(token))
    )


async def held_for(session: AsyncSession, email: str) -> dict[str, list[dict[str, Any]]]:
    """What is held about an address's sign-ins, for its owner's export (no tokens)."""
    sessions = await session.scalars(
        select(PractitionerSession).where(PractitionerSession.email == email)
    )
    links = await session.scalars(
        select(PractitionerSignInLink).where(PractitionerSignInLink.email == email)
    )
    return {
        "sessions": [{"opened_at": s.created_at, "last_seen_at": s.last_seen_at} for s in sessions],
        "links": [{"sent_at": link.created_at, "used_at": link.used_at} for link in links],
    }


async def forget(session: AsyncSession, email: str) -> None:
    """Erase an address's sign-in links and sessions (its owner asked to be forgotten)."""
    await session.execute(delete(PractitionerSession).where(PractitionerSession.email == email))
    await session.execute(
        delete(PractitionerSignInLink).where(PractitionerSignInLink.email == email)
    )
