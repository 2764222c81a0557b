"""Staff accounts and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Invalid
from service.staff.models import Role, StaffMember

# Imports run from the command line are recorded against this account, which has no token.
COMMAND_LINE = "command-line@learnhub.invalid"


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
    # A header's bytes that are not UTF-8 arrive as surrogates: such a token matches nothing.
    return hashlib.sha256(token.encode(errors="surrogateescape")).hexdigest()


def normalise_email(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"{address!r} is not a valid email address: {exc}") from exc


async def create(session: AsyncSession, *, email: str, role: Role, now: datetime) -> str:
    """Add a staff member and return their API token, which is not stored."""
    email = normalise_email(email)
    if await session.scalar(select(StaffMember.id).where(StaffMember.email == email)):
        raise Conflict(f"{email} is already a member of staff")
    token = "lh_" + secrets.token_urlsafe(32)
    session.add(
        StaffMember(email=email, role=role.value, token_hash=hash_token(token), created_at=now)
    )
    await session.flush()
    return token


async def get_by_token(session: AsyncSession, token: str) -> StaffMember | None:
    return await session.scalar(
        select(StaffMember).where(StaffMember.token_hash == hash_token(token))
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
