"""Which briefs fall in each person's window, planned once per run without a query per person.

A run's window runs from the previous finished run's cutoff (so a missed run is covered by
the next one, in one digest) to its own cutoff; a person who consented later starts from
their consent. Briefs count by when subscribers were last told of them: first publication
or the latest significant update. Withdrawn briefs are left out, and a brief a person was
already sent at this publication, at its revision or since it was last announced (an
immediate alert through a group, or urgent learning, say, even if it was edited in small
ways since), is not sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from digests.content import Card, Sections
from digests.models import DigestRun
from service.briefs.models import Brief, Status
from service.mail.carrying import ANNOUNCING
from service.mail.models import MailDelivery, MailMessage, MailStatus
from service.settings import Settings
from service.taxonomy import Taxonomy
from subscribers.alerts.matching import Recipient, facts_of, recipients
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions.models import Subscriber

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOTHING = (0, 0, EPOCH)  # the (publication, revision, last queued) of a brief never sent


@dataclass
class Plan:
    run: DigestRun
    candidates: dict[uuid.UUID, Brief]
    people: dict[int, Recipient] = field(default_factory=dict)
    matched: dict[int, list[Card]] = field(default_factory=dict)
    starts: dict[int, datetime] = field(default_factory=dict)
    cards: dict[uuid.UUID, Card] = field(default_factory=dict)

    @cached_property
    def sections(self) -> Sections:
        """Each person's sections, from the cards; built once per run."""
        return Sections(self.cards.values())

    @cached_property
    def key_prefix(self) -> str:
        """How each digest's idempotency key starts: the run it belongs to."""
        return f"digest:{self.run.frequency}:{self.run.period_end:%Y%m%dT%H%MZ}"

    def key_of(self, person_id: int, suffix: str = "") -> str:
        """A digest's idempotency key: its run and person, and for a digest rewritten after
        a withdrawal, the event that made it be rewritten."""
        return f"{self.key_prefix}:{person_id}{suffix}"

    def start_of(self, person_id: int) -> datetime:
        return max(self.run.period_start or EPOCH, self.starts.get(person_id, EPOCH))

    async def briefs_for(self, session: AsyncSession, ids: Sequence[int]) -> dict[int, list[Card]]:
        """Each person's briefs in their window, minus those already sent to them."""
        await self._load_starts(session, ids)
        sent = await _already_sent(session, [self.people[i].email for i in ids], self.candidates)
        found: dict[int, list[Card]] = {}
        for person_id in ids:
            start, email = self.start_of(person_id), self.people[person_id].email
            mine = [
                card
                for card in self.matched.get(person_id, [])
                if card.notified_at > start and not _told(sent.get((email, card.brief_id)), card)
            ]
            if mine:
                found[person_id] = mine
        return found

    async def _load_starts(self, session: AsyncSession, ids: Sequence[int]) -> None:
        subscribed = [i for i in ids if self.people[i].subscribed]
        for person_id, consented in await session.execute(
            select(Subscriber.id, Subscriber.consented_at).where(Subscriber.id.in_(subscribed))
        ):
            self.starts[person_id] = consented or EPOCH
        joined = await session.execute(
            select(GroupMember.subscriber_id, func.min(GroupMember.confirmed_at))
            .join(Group, Group.id == GroupMember.group_id)
            .where(
                GroupMember.subscriber_id.in_(ids),
                Group.frequency == self.run.frequency,
                GroupMember.confirmed_at.is_not(None),
            )
            .group_by(GroupMember.subscriber_id)
        )
        for person_id, confirmed in joined:
            if confirmed is not None:
                self.starts[person_id] = min(self.starts.get(person_id, confirmed), confirmed)


def run_of_key(key: str) -> tuple[str, datetime, int]:
    """The frequency, period end and person of a digest's idempotency key (``Plan.key_of``)."""
    _, frequency, period_end, person_id, *_ = key.split(":")
    when = datetime.strptime(period_end, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    return frequency, when, int(person_id)


async def plan_run(
    session: AsyncSession,
    run: DigestRun,
    taxonomy: Taxonomy,
    settings: Settings,
    *,
    only: Collection[uuid.UUID] | None = None,
) -> Plan:
    """Match every candidate brief once; people and their briefs come out of the matches.

    ``only``: these briefs (still published), whatever their dates: the briefs of digests
    being rewritten, which were in the run when it was made (digests.revise).
    """
    query = select(Brief).where(Brief.status == Status.published.value)
    if only is not None:
        query = query.where(Brief.id.in_(list(only)))
    else:
        query = query.where(Brief.notified_at <= run.period_end)
        if run.period_start is not None:
            query = query.where(Brief.notified_at > run.period_start)
    plan = Plan(run, {b.id: b for b in await session.scalars(query)})
    plan.cards = {i: Card.of(b, taxonomy, settings.base_url) for i, b in plan.candidates.items()}
    for brief in plan.candidates.values():
        found = await recipients(
            session,
            facts_of(brief),
            frequency=run.frequency,
            taxonomy=taxonomy,
            practitioner_domains=settings.practitioner_domains,
        )
        card = plan.cards[brief.id]
        for person in found:
            plan.people.setdefault(person.id, person)
            plan.matched.setdefault(person.id, []).append(card)
    return plan


def _told(sent: tuple[int, int, datetime] | None, card: Card) -> bool:
    """Whether the person was sent the brief as it is now announced: at this publication,
    at its revision or in a message queued since its last announcement (a small edit since
    then is no news)."""
    if sent is None:
        return False
    publication, revision, queued = sent
    if publication != card.publication:
        return publication > card.publication
    return revision >= card.revision or queued >= card.notified_at


async def _already_sent(
    session: AsyncSession, emails: list[str], candidates: dict[uuid.UUID, Brief]
) -> dict[tuple[str, uuid.UUID], tuple[int, int, datetime]]:
    """The last (publication, revision, time queued) of each candidate brief each person was
    sent, by an alert or a digest that went or is to go (not one that failed or was
    cancelled)."""
    if not emails or not candidates:
        return {}
    # Deliveries are found through these people's messages, not through the briefs: every
    # digest this run has queued so far carries the same briefs, so the brief index would
    # read all of them for each batch (SQLite chose it when the join was written plainly).
    theirs = select(MailMessage.id).where(
        MailMessage.recipient.in_(emails),
        MailMessage.kind.in_(ANNOUNCING),
        MailMessage.status.not_in([MailStatus.failed.value, MailStatus.cancelled.value]),
    )
    rows = await session.execute(
        select(
            MailMessage.recipient,
            MailDelivery.brief_id,
            MailDelivery.publication,
            func.max(MailDelivery.revision),
            func.max(MailMessage.created_at),
        )
        .join(MailDelivery, MailDelivery.message_id == MailMessage.id)
        .where(MailDelivery.message_id.in_(theirs), MailDelivery.brief_id.in_(list(candidates)))
        .group_by(MailMessage.recipient, MailDelivery.brief_id, MailDelivery.publication)
    )
    found: dict[tuple[str, uuid.UUID], tuple[int, int, datetime]] = {}
    for email, brief_id, publication, revision, queued in rows:
        key = (email, brief_id)
        found[key] = max(found.get(key, NOTHING), (publication, revision, _utc(queued)))
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
