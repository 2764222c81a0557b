"""Practitioner groups: admins define them and add members, members confirm or leave."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from service.audit import service as audit
from service.audit.models import Action
from service.briefs.tags import check_codes
from service.errors import Conflict, Invalid, NotFound
from service.staff.models import StaffMember
from service.taxonomy import FACETS, Taxonomy
from subscribers.groups.invitations import (
    Invitation,
    Outcome,
    invite_many,
    may_join,
    read_addresses,
)
from subscribers.groups.models import Group, GroupMember
from subscribers.groups.schemas import GroupCreate, GroupUpdate
from subscribers.subscriptions import emails
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.service import CONSENT_VERSION, by_token, get_or_create
from subscribers.subscriptions.tokens import Purpose, TokenProblem


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check(taxonomy: Taxonomy, data: GroupCreate | GroupUpdate) -> None:
    check_codes(taxonomy, {facet: getattr(data, facet) for facet in FACETS})
    if data.borough and data.borough not in taxonomy.codes("boroughs"):
        raise Invalid(f"unknown borough {data.borough!r}")
    if data.agency and data.agency not in taxonomy.codes("agencies"):
        raise Invalid(f"unknown agency {data.agency!r}")


async def _unique_name(session: AsyncSession, name: str, group_id: int | None = None) -> None:
    found = await session.scalar(select(Group.id).where(Group.name == name))
    if found is not None and found != group_id:
        raise Conflict(f"there is already a group called {name!r}")


async def create(
    session: AsyncSession,
    data: GroupCreate,
    *,
    taxonomy: Taxonomy,
    staff: StaffMember,
    now: datetime,
) -> Group:
    _check(taxonomy, data)
    await _unique_name(session, data.name)
    group = Group(**data.model_dump(), created_at=now, members=[])
    session.add(group)
    await session.flush()
    audit.record(session, staff, Action.group_created, group.name, now=now, group_id=group.id)
    return group


async def get(session: AsyncSession, group_id: int) -> Group:
    """The group with its members."""
    group = await session.get(Group, group_id, options=[selectinload(Group.members)])
    if group is None:
        raise NotFound(f"no group with id {group_id}")
    if "members" in inspect(group).unloaded:  # it was already in the session, without them
        await session.refresh(group, ["members"])
    return group


async def with_member_counts(session: AsyncSession) -> list[tuple[Group, int]]:
    """Every group, by name, with how many members it has (invited or confirmed)."""
    count = (
        select(func.count())
        .where(GroupMember.group_id == Group.id)
        .correlate(Group)
        .scalar_subquery()
    )
    rows = await session.execute(select(Group, count).order_by(Group.name))
    return [(group, members) for group, members in rows]


async def get_all(session: AsyncSession) -> list[Group]:
    query = select(Group).options(selectinload(Group.members)).order_by(Group.name)
    return list((await session.scalars(query)).unique())


async def update(
    session: AsyncSession,
    group_id: int,
    data: GroupUpdate,
    *,
    taxonomy: Taxonomy,
    staff: StaffMember,
    now: datetime,
) -> Group:
    group = await get(session, group_id)
    _check(taxonomy, data)
    if data.name:
        await _unique_name(session, data.name, group.id)
    changed = []
    for field, value in data.model_dump(exclude_unset=True).items():
        if getattr(group, field) != value:
            changed.append(field)
            setattr(group, field, value)
    await session.flush()
    if changed:
        audit.record(
            session, staff, Action.group_changed, group.name, now=now, group_id=group.id,
            fields=changed,
        )  # fmt: skip
    return group


async def add_member(
    session: AsyncSession,
    group_id: int,
    email: str,
    *,
    mail: emails.Mail,
    practitioner_domains: Sequence[str],
    staff: StaffMember,
    now: datetime,
) -> GroupMember:
    """Invite an address; it joins once its owner confirms, like any subscriber. Invited
    again while it has not confirmed, it is sent the invitation again."""
    group = await get(session, group_id)
    email = email.lower()
    if not may_join(group, email, practitioner_domains):
        message = (
            f"{email} is outside the practitioner domains, and {group.name} is a practitioner group"
        )
        raise Invalid(message, details=[{"field": "email", "message": message}])
    subscriber = await get_or_create(session, email, now)
    member = next((m for m in group.members if m.subscriber_id == subscriber.id), None)
    if member is not None and member.confirmed_at is not None:
        raise Conflict(f"{subscriber.email} is already a member of {group.name}")
    if member is None:
        member = GroupMember(group=group, subscriber=subscriber, invited_at=now)
        session.add(member)
    member.invited_at = now
    await session.flush()
    context = {"join_url": mail.links.join(subscriber, group.id), "group": group}
    await emails.send(session, mail, "group_invite", subscriber, context, now)
    _invited(session, staff, group, [subscriber.email], now)
    return member


async def invite(
    session: AsyncSession,
    group_id: int,
    paste: str,
    *,
    mail: emails.Mail,
    practitioner_domains: Sequence[str],
    staff: StaffMember,
    now: datetime,
) -> list[Invitation]:
    """Invite every address of a paste (at most 500) that may join and is not yet invited;
    say what became of each. Those already invited are not sent the invitation again."""
    entries = read_addresses(paste)
    group = await get(session, group_id)
    results = await invite_many(
        session, group, entries, mail=mail, now=now, practitioner_domains=practitioner_domains
    )
    invited = [r.email for r in results if r.outcome == Outcome.invited and r.email]
    if invited:
        _invited(session, staff, group, invited, now)
    return results


def _invited(
    session: AsyncSession, staff: StaffMember, group: Group, emails: list[str], now: datetime
) -> None:
    audit.record(
        session, staff, Action.members_invited, group.name, now=now, group_id=group.id,
        emails=emails,
    )  # fmt: skip


async def remove_member(
    session: AsyncSession, group_id: int, email: str, *, staff: StaffMember, now: datetime
) -> None:
    group = await get(session, group_id)
    member = next((m for m in group.members if m.subscriber.email == email.lower()), None)
    if member is None:
        raise NotFound(f"{email} is not a member of {group.name}")
    await session.delete(member)
    member.subscriber.left_group_at = now
    audit.record(
        session, staff, Action.member_removed, group.name, now=now, group_id=group.id,
        email=member.subscriber.email,
    )  # fmt: skip


async def confirm_join(
    session: AsyncSession, mail: emails.Mail, token: str, now: datetime
) -> GroupMember:
    claims = mail.links.tokens.read(token, Purpose.membership)
    subscriber = await by_token(session, mail, token, Purpose.membership)
    member = await session.get(GroupMember, (claims.group_id, subscriber.id))
    if member is None:
        raise TokenProblem("This invitation has been withdrawn, or you have left the group.")
    if member.confirmed_at is None:
        member.confirmed_at = now
        member.consent_version = CONSENT_VERSION
        subscriber.confirmed_at = subscriber.confirmed_at or now
    return member


def leave(subscriber: Subscriber, group_id: int, now: datetime) -> None:
    """Leave one group; the person's own subscription is not touched."""
    kept = [m for m in subscriber.memberships if m.group_id != group_id]
    if len(kept) < len(subscriber.memberships):
        subscriber.left_group_at = now
    subscriber.memberships = kept


def rotate_feed_token(
    session: AsyncSession, group: Group, *, staff: StaffMember, now: datetime
) -> str:
    """A new private feed token; the old one stops working at once. Shown only now."""
    token = secrets.token_urlsafe(24)
    group.feed_token_hash = _hash(token)
    audit.record(session, staff, Action.feed_link_issued, group.name, now=now, group_id=group.id)
    return token


def revoke_feed_token(
    session: AsyncSession, group: Group, *, staff: StaffMember, now: datetime
) -> None:
    group.feed_token_hash = None
    audit.record(session, staff, Action.feed_link_revoked, group.name, now=now, group_id=group.id)


async def by_feed_token(session: AsyncSession, token: str) -> Group | None:
    return await session.scalar(select(Group).where(Group.feed_token_hash == _hash(token)))
