"""Digests still queued with a brief that was taken back: rewritten without it.

A withdrawal must not cost anyone the rest of their digest (nor must an audience narrowed to
practitioners, for a reader outside the practitioner domains). Each such digest still
pending is cancelled and, in the same transaction, planned again for its run and person, as
the run would plan it now, and queued under a key naming the event; a digest that held
nothing else is only cancelled. One transaction, so that a crash leaves either both or
neither. A message being sent waits for its outcome (``Later``), as the notices do; the
pending alerts that carry the brief are cancelled here first, so that none goes out while
the event waits.
"""

from __future__ import annotations

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
from service.mail.models import MailStatus
from service.mail.service import enqueue_many
from subscribers.notices import (
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
            runs: dict[tuple[str, datetime], list[int]] = defaultdict(list)
            for holder in queued:
                if holder.message_id in cancelled:
                    frequency, period_end, person_id = run_of_key(holder.key)
                    runs[frequency, period_end].append(person_id)
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
        people: list[int],
    ) -> None:
        digests = self.digests
        run = await session.scalar(
            select(DigestRun).where(
                DigestRun.frequency == frequency, DigestRun.period_end == period_end
            )
        )
        if run is None:
            return
        plan = await plan_run(session, run, digests.taxonomy, digests.settings)
        todo = sorted(p for p in set(people) if p in plan.people)
        composed = await compose(digests, session, run, plan, todo, suffix=f":r{event.id}")
        outgoing = [mail for _, _, mail in composed]
        await enqueue_many(session, outgoing, composer=digests.composer, now=event.occurred_at)
