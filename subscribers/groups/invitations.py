"""Inviting many people to a group at once: addresses pasted from a spreadsheet or an email.

Each address is read, checked and answered on its own (invited, already a member, not a
valid address, outside the practitioner domains...), and every invitation goes the way a
single one does (``subscribers.subscriptions.emails``), in the caller's transaction: the
paste is taken whole or, should the database fail, not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.audience import in_domains
from service.errors import Invalid
from service.mail.service import suppressed
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions import emails
from subscribers.subscriptions.schemas import Address
from subscribers.subscriptions.service import get_or_create_many

LIMIT = 500  # addresses a paste may hold
CHARACTERS = LIMIT * 400  # past this, a paste can't be 500 addresses and what separates them
_ADDRESS: TypeAdapter[str] = TypeAdapter(Address)
_BRACKETED = re.compile(r"<([^<>]*)>")
_QUOTED = re.compile(r'"[^"]*"')
_ENTRY = re.compile(r"[^\s,;]+")
_SEGMENT = re.compile(r"[^;\n]+")


class Outcome(StrEnum):
    invited = "invited"
    already_member = "already_member"
    already_invited = "already_invited"
    invalid = "invalid"
    outside = "outside"
    suspended = "suspended"


@dataclass(frozen=True)
class Invitation:
    """What became of one pasted address; ``email`` is it as we would write it, if valid."""

    given: str
    outcome: Outcome
    email: str | None = None
    reason: str = ""


def read_addresses(text: str) -> list[str]:
    """The entries of a paste, in order, each once: one a line, or separated by commas,
    semicolons or spaces. From an address book (``Name <address>``, or ``"Surname, Name"
    <address>``, separated by semicolons), the part in angle brackets is the address and
    the words of the name are left out."""
    if len(text) > CHARACTERS:
        raise Invalid(f"Paste up to {LIMIT} addresses at a time")
    found: list[str] = []
    for segment in _SEGMENT.findall(text):
        named = [m.group(1).strip() for m in _BRACKETED.finditer(segment)]
        rest = _BRACKETED.sub(" ", segment)
        if named:
            rest = _QUOTED.sub(" ", rest)
        # Beside an <address>, words are its name; anywhere else each is an entry.
        words = [w for w in _ENTRY.findall(rest) if not named or "@" in w]
        found += _in_order(segment, named, words)
    entries = list(dict.fromkeys(entry for entry in found if entry))
    if not entries:
        raise Invalid("Paste at least one email address")
    if len(entries) > LIMIT:
        raise Invalid(f"Paste up to {LIMIT} addresses at a time; this has {len(entries)}")
    return entries


def _in_order(segment: str, named: list[str], words: list[str]) -> list[str]:
    """Bracketed addresses and bare words of one segment, in the order they were written."""
    placed = [(segment.find(f"<{n}"), n) for n in named] + [(segment.find(w), w) for w in words]
    return [entry for _, entry in sorted(placed, key=lambda pair: pair[0])]


def may_join(group: Group, email: str, practitioner_domains: Iterable[str]) -> bool:
    """A practitioner group gets restricted briefs: only practitioners' addresses are invited."""
    return not group.practitioners_only or in_domains(
        email.rpartition("@")[2], practitioner_domains
    )


def checked(entries: Sequence[str], group: Group, domains: Sequence[str]) -> list[Invitation]:
    """Each entry read as an address: invalid, outside the domains, or to be looked up."""
    seen: set[str] = set()
    results = []
    for given in entries:
        try:
            email = _ADDRESS.validate_python(given)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            reason = reason.removeprefix("value is not a valid email address: ")
            results.append(Invitation(given, Outcome.invalid, reason=reason))
            continue
        if email in seen:
            continue  # the same address written twice, differently
        seen.add(email)
        outcome = Outcome.invited if may_join(group, email, domains) else Outcome.outside
        results.append(Invitation(given, outcome, email))
    return results


async def invite_many(
    session: AsyncSession,
    group: Group,
    entries: Sequence[str],
    *,
    mail: emails.Mail,
    now: datetime,
    practitioner_domains: Sequence[str],
) -> list[Invitation]:
    """Invite each valid, allowed address not already in the group; report on every one.

    ``group`` comes with its members (``subscribers.groups.service.get``).
    """
    results = checked(entries, group, practitioner_domains)
    wanted = [r.email for r in results if r.outcome == Outcome.invited and r.email]
    members = {m.subscriber.email: m for m in group.members}
    stopped = await suppressed(session, wanted)
    new = [e for e in wanted if e not in members and e not in stopped]
    people = await get_or_create_many(session, new, now)
    for email in new:
        session.add(GroupMember(group=group, subscriber=people[email], invited_at=now))
    await session.flush()
    invitations = [
        (people[email], {"join_url": mail.links.join(people[email], group.id), "group": group})
        for email in new
    ]
    await emails.send_many(session, mail, "group_invite", invitations, now, personal=("join_url",))
    return [_answer(result, members, stopped) for result in results]


def _answer(result: Invitation, members: dict[str, GroupMember], stopped: set[str]) -> Invitation:
    email = result.email
    if result.outcome != Outcome.invited or email is None:
        return result
    if email in members:
        joined = members[email].confirmed_at is not None
        return _with(result, Outcome.already_member if joined else Outcome.already_invited)
    return _with(result, Outcome.suspended) if email in stopped else result


def _with(result: Invitation, outcome: Outcome) -> Invitation:
    return Invitation(result.given, outcome, result.email, result.reason)
