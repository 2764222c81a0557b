"""Staff sign-in by a one-time emailed link, and the console sessions it opens.

Only SHA-256 hashes of links and session tokens are stored: a copy of the database opens no
console. A link works once, for 15 minutes; a session ends after 30 idle minutes, or 12
hours after sign-in whatever happens.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import DomainError
from service.mail.compose import Composer
from service.mail.service import Outgoing, enqueue
from service.requests import worker as requests
from service.staff.models import StaffMember, StaffSession, StaffSignInLink
from service.staff.service import hash_token, normalise_email

LINK_LIFETIME = timedelta(minutes=15)
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
# Writing last_seen on every page costs a write lock on SQLite; a minute's slack is harmless.
TOUCH_AFTER = timedelta(minutes=1)


STAFF_SIGN_IN = "staff_sign_in"  # the kind of link request (learnhub.requests)


async def ask(session: AsyncSession, email: str, now: datetime) -> None:
    """Record a request for a sign-in link; ``request_link`` is its work, done afterwards
    (service.requests), so that the answer costs the same whether or not it is staff's."""
    await requests.ask(session, STAFF_SIGN_IN, email.strip(), {}, now)


class LinkProblem(DomainError):
    code = "invalid_token"
    status = 404


async def request_link(
    session: AsyncSession, email: str, *, composer: Composer, base_url: str, now: datetime
) -> bool:
    """Email a sign-in link if ``email`` is a member of staff; the caller answers the same."""
    try:
        address = normalise_email(email)
    except DomainError:
        return False
    staff = await session.scalar(select(StaffMember).where(StaffMember.email == address))
    if staff is None or staff.removed_at is not None:
        return False
    token = secrets.token_urlsafe(32)
    link = StaffSignInLink(
        token_hash=hash_token(token),
        staff_id=staff.id,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    await session.flush()
    context = {"url": f"{base_url}/staff/sign-in/{token}", "minutes": 15, "email": address}
    outgoing = Outgoing(
        kind="staff_sign_in", recipient=address, key=f"staff-sign-in:{link.id}", context=context
    )
    return await enqueue(session, outgoing, composer=composer, now=now)


async def read_link(session: AsyncSession, token: str, now: datetime) -> StaffSignInLink:
    """The link behind ``token`` if it can still be used; reading it changes nothing."""
    link = await session.scalar(
        select(StaffSignInLink).where(StaffSignInLink.token_hash == hash_token(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkProblem(
            "This sign-in link has been used or has expired. Ask for a new one; "
            "each link works once, for 15 minutes."
        )
    return link


async def sign_in(session: AsyncSession, token: str, now: datetime) -> str:
    """Use up the link and open a session; returns the session's token for the cookie."""
    link = await read_link(session, token, now)
    # A conditional update, so that two presses of one link can't open two sessions.
    used = await session.execute(
        update(StaffSignInLink)
        .where(StaffSignInLink.id == link.id, StaffSignInLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkProblem("This sign-in link has been used. Ask for a new one.")
    secret = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=hash_token(secret), staff_id=link.staff_id, created_at=now, last_seen_at=now
        )
    )
    await session.flush()
    return secret


def expired(record: StaffSession, now: datetime) -> bool:
    return now - record.last_seen_at >= IDLE or now - record.created_at >= ABSOLUTE


async def current(session: AsyncSession, token: str, now: datetime) -> StaffMember | None:
    """The member of staff behind a session cookie; an expired session is ended."""
    record = await session.scalar(
        select(StaffSession).where(StaffSession.token_hash == hash_token(token))
    )
    if record is None:
        return None
    if expired(record, now) or record.staff.removed_at is not None:
        await session.delete(record)
        return None
    if now - record.last_seen_at >= TOUCH_AFTER:
        record.last_seen_at = now
    return record.staff


async def end(session: AsyncSession, token: str) -> None:
    """Sign out: the session's row goes, so the cookie opens nothing any more."""
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_token(token)))
