"""Staff accounts and their API tokens: added, given a role, removed.

Only administrators manage staff (the handlers check the role); the one rule the service
keeps whoever asks is that the last administrator can't be removed or made a publisher, so
nobody is left to manage the console. Every change is written to the audit log with it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.audit.models import Action
from service.errors import Conflict, Invalid, NotFound
from service.staff.models import (
    ROLE_LABELS,
    SYSTEM_DOMAIN,
    Role,
    StaffMember,
    StaffSession,
    StaffSignInLink,
)

# Imports and changes run from the command line are recorded against this account, which
# has no token.
COMMAND_LINE = f"command-line@{SYSTEM_DOMAIN}"


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
    # A header's bytes that are not UTF-8 arrive as surrogates: such a token matches nothing.
    return hashlib.sha256(token.encode(errors="surrogateescape")).hexdigest()


def normalise_email(address: str) -> str:
    try:
        email = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"{address!r} is not a valid email address: {exc}") from exc
    # Sign-in links go through NHS and police relays, which do not promise SMTPUTF8.
    if not email.partition("@")[0].isascii():
        raise Invalid(f"{address!r} has letters beyond A to Z before the @; use another address")
    return email


def _new_token() -> str:
    return "lh_" + secrets.token_urlsafe(32)


async def create(
    session: AsyncSession,
    *,
    email: str,
    role: Role,
    now: datetime,
    by: StaffMember | None = None,
) -> str:
    """Add a staff member and return their API token, which is not stored.

    An address removed before is added again: the same row, so that its history is one.
    """
    email = normalise_email(email)
    if email.endswith("@" + SYSTEM_DOMAIN):
        raise Invalid(f"{email} is reserved for the service itself")
    member = await session.scalar(
        select(StaffMember).where(StaffMember.email == email).with_for_update()
    )
    if member is not None and member.removed_at is None:
        raise Conflict(f"{email} is already a member of staff")
    token = _new_token()
    if member is None:
        member = StaffMember(email=email, role=role.value, token_hash=hash_token(token))
        session.add(member)
    member.role, member.token_hash = role.value, hash_token(token)
    member.created_at, member.removed_at = now, None
    await session.flush()
    if by is not None:
        audit.record(session, by, Action.staff_added, email, now=now, role=role.value)
    return token


async def get_by_token(session: AsyncSession, token: str) -> StaffMember | None:
    return await session.scalar(
        select(StaffMember).where(
            StaffMember.token_hash == hash_token(token), StaffMember.removed_at.is_(None)
        )
    )


async def get(session: AsyncSession, staff_id: int, *, lock: bool = False) -> StaffMember:
    """A current member of staff (not removed, not the service's own account)."""
    query = select(StaffMember).where(StaffMember.id == staff_id)
    member = await session.scalar(query.with_for_update() if lock else query)
    if member is None or member.removed_at is not None or member.system:
        raise NotFound(f"no member of staff with id {staff_id}")
    return member


async def by_email(session: AsyncSession, email: str) -> StaffMember:
    """A current member of staff by address, for the command line."""
    address = normalise_email(email)
    member = await session.scalar(select(StaffMember).where(StaffMember.email == address))
    if member is None or member.removed_at is not None or member.system:
        raise NotFound(f"{address} is not a member of staff")
    return member


async def listed(session: AsyncSession) -> list[StaffMember]:
    """Current staff by address; removed staff and the service's own accounts are left out."""
    rows = await session.scalars(
        select(StaffMember)
        .where(
            StaffMember.removed_at.is_(None),
            StaffMember.email.not_like(f"%@{SYSTEM_DOMAIN}"),
        )
        .order_by(StaffMember.email)
    )
    return list(rows)


async def change_role(
    session: AsyncSession, staff_id: int, role: Role, *, by: StaffMember, now: datetime
) -> StaffMember:
    member = await get(session, staff_id, lock=True)
    if member.role == role.value:
        return member
    if member.role == Role.admin:
        await _keep_an_admin(session, member, by, "make {} a publisher")
    before, member.role = member.role, role.value
    audit.record(
        session,
        by,
        Action.staff_role_changed,
        member.email,
        now=now,
        before=before,
        after=role.value,
    )
    await session.flush()
    return member


async def remove(
    session: AsyncSession, staff_id: int, *, by: StaffMember, now: datetime
) -> StaffMember:
    """Remove a member of staff: signed out everywhere at once, their token opens nothing."""
    member = await get(session, staff_id, lock=True)
    if member.role == Role.admin:
        await _keep_an_admin(session, member, by, "remove {}")
    member.removed_at = now
    member.token_hash = hash_token(secrets.token_hex(32))  # a secret nobody ever sees
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == member.id))
    await session.execute(delete(StaffSignInLink).where(StaffSignInLink.staff_id == member.id))
    audit.record(session, by, Action.staff_removed, member.email, now=now, role=member.role)
    await session.flush()
    return member


class LastAdmin(Conflict):
    """Removing or demoting this administrator would leave nobody to manage the console."""


async def _keep_an_admin(
    session: AsyncSession, member: StaffMember, by: StaffMember, change: str
) -> None:
    # The current administrators' rows are locked, so that two administrators demoting each
    # other at once can't both succeed: the second sees the first's change, then counts.
    admins = await session.scalars(
        select(StaffMember.id)
        .where(
            StaffMember.role == Role.admin.value,
            StaffMember.removed_at.is_(None),
            StaffMember.email.not_like(f"%@{SYSTEM_DOMAIN}"),
        )
        .with_for_update()
    )
    if set(admins) - {member.id}:
        return
    yourself = member.id == by.id
    who = "You are" if yourself else f"{member.email} is"
    change = change.format("yourself" if yourself else "them")
    raise LastAdmin(
        f"{who} the only {ROLE_LABELS[Role.admin].lower()}: make someone else an "
        f"administrator before you {change}"
    )


async def system_account(
    session: AsyncSession, email: str, role: Role, now: datetime
) -> StaffMember:
    """An account no token can open: its hash is of a secret nobody ever sees."""
    member = StaffMember(
        email=email, role=role.value, token_hash=hash_token(secrets.token_hex(32)), created_at=now
    )
    session.add(member)
    await session.flush()
    return member


async def command_line(session: AsyncSession, now: datetime) -> StaffMember:
    """The account that changes made from the command line are recorded against."""
    found = await session.scalar(select(StaffMember).where(StaffMember.email == COMMAND_LINE))
    return found or await system_account(session, COMMAND_LINE, Role.admin, now)
