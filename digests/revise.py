"""Digests still queued with a brief that was taken back: rewritten without it.

A withdrawal must not cost anyone the rest of their digest (nor must an audience narrowed to
practitioners, for a reader outside the practitioner domains). Each such digest still
pending is cancelled and, in the same transaction, made again for its run and person from
the briefs it carried (those still published and still theirs to receive), and queued
under a key naming the event; a digest that held nothing else is only cancelled. One
transaction, so that a crash leaves either both or neither. The pending alerts that carry
the brief are cancelled here first; then a message being sent is waited for (``Later``),
as the notices do, so that none goes out while the event waits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests.models import DigestRun
from digests.service import Digests, compose
from digests.window import plan_run, run_of_key
from service.events.models import Event
from service.mail.carrying import ANNOUNCING, cancel, carrying
from service.mail.models import MailDelivery, MailStatus
from service.mail.service import enqueue_many
from subscribers.alerts.notices import (
    cancel_alerts,
    concerned,
    reason_of,
    taken_back,
    wait_for_sending,
)

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Revisions:
    digests: Digests

    async def on_taken_back(
        self, sessions: Sessions, event: Event, sent: Callable[[], None]
    ) -> None:
        if not taken_back(event):
            return
        domains = self.digests.settings.practitioner_domains
        async with sessions.begin() as session:
            await cancel_alerts(session, event, domains)
            queued = await carrying(
                session, event.brief_id, kinds=("digest",), statuses=(MailStatus.pending,)
            )
            queued = concerned(event, queued, domains)
            cancelled = await cancel(session, [h.message_id for h in queued], reason_of(event))
            runs: dict[tuple[str, datetime], dict[int, int]] = defaultdict(dict)
            for holder in queued:
                if holder.message_id in cancelled:
                    frequency, period_end, person_id = run_of_key(holder.key)
                    runs[frequency, period_end][person_id] = holder.message_id
            for (frequency, period_end), people in runs.items():
                await self._rewrite(session, event, frequency, period_end, people)
        sent()
        await wait_for_sending(sessions, event, kinds=ANNOUNCING, domains=domains)

    async def _rewrite(
        self,
        session: AsyncSession,
        event: Event,
        frequency: str,
        period_end: datetime,
        people: dict[int, int],
    ) -> None:
        """Each person's digest again, from the briefs their cancelled one carried (by
        ``people``: person -> message), less those taken back from them."""
        digests = self.digests
        run = await session.scalar(
            select(DigestRun).where(
                DigestRun.frequency == frequency, DigestRun.period_end == period_end
            )
        )
        if run is None:
            return
        carried: dict[int, set[uuid.UUID]] = defaultdict(set)
        rows = await session.execute(
            select(MailDelivery.message_id, MailDelivery.brief_id).where(
                MailDelivery.message_id.in_(list(people.values()))
            )
        )
        for message_id, brief_id in rows:
            carried[message_id].add(brief_id)
        briefs = set().union(*carried.values()) if carried else set()
        plan = await plan_run(session, run, digests.taxonomy, digests.settings, only=briefs)
        for person, message_id in people.items():
            theirs = carried[message_id]
            plan.matched[person] = [c for c in plan.matched.get(person, []) if c.brief_id in theirs]
        todo = sorted(p for p in people if p in plan.people)
        composed = await compose(digests, session, run, plan, todo, suffix=f":r{event.id}")
        outgoing = [mail for _, _, mail in composed]
        await enqueue_many(session, outgoing, composer=digests.composer, now=event.occurred_at)
