"""The webhook worker's recorder: outcomes written together as they come (group commit).

Each lane waits for its outcome to be written before its next post (the outcome decides
whether the endpoint's other deliveries go now), so a lane never has more than one outcome
unwritten, and a crash can repeat no more than the lanes had on the wire or answered. The
outcomes that come while a write is under way are written together by the next one: eight
lanes cost one transaction, not eight, and no outcome waits for more than the write in hand
and its own. Every write names the lease its rows hold, and takes its turn with the
heartbeat's renewals (the claim's lock): decisions 0002 and 0010, as for mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clock import Clock
from service.mail.compose import Composer
from service.webhooks import disabling, queue
from service.webhooks.queue import Claimed, RetryPolicy
from service.webhooks.transport import Answer

log = logging.getLogger("service.webhooks.worker")
Waiting = tuple[Claimed, Answer, "asyncio.Future[datetime | None]"]


class Recorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        composer: Composer,
        policy: RetryPolicy,
        rng: random.Random,
        after: Callable[[], None],
    ) -> None:
        self.sessions, self.clock, self.composer = sessions, clock, composer
        self.policy, self.rng, self.after = policy, rng, after
        self._waiting: list[Waiting] = []
        self._writing: asyncio.Task[None] | None = None

    async def write(self, claimed: Claimed, answer: Answer) -> datetime | None:
        """Write the outcome, with those that come meanwhile; when the delivery is tried
        again (None: not). Raises if the write fails (nothing of it is written)."""
        future: asyncio.Future[datetime | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((claimed, answer, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all(), name="webhook-recorder")
        return await future

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                retries = await self._write(batch)
            except Exception as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, _, future), retry_at in zip(batch, retries, strict=True):
                    if not future.done():
                        future.set_result(retry_at)

    async def _write(self, batch: list[Waiting]) -> list[datetime | None]:
        leases = list({id(c.lease): c.lease for c, _, _ in batch}.values())
        disabled: list[tuple[int, str]] = []
        retries: list[datetime | None] = []
        async with contextlib.AsyncExitStack() as turns:
            for lease in leases:  # no renewal moves a lease while outcomes are written under it
                await turns.enter_async_context(lease.lock)
            async with self.sessions.begin() as session:
                now = self.clock()
                for c, answer, _ in batch:
                    recorded = await queue.record(
                        session, c, answer, now=now, policy=self.policy, rng=self.rng
                    )
                    retries.append(recorded.retry_at)
                    if recorded.disable is not None and await disabling.disable(
                        session,
                        c.endpoint_id,
                        reason=recorded.disable,
                        now=now,
                        composer=self.composer,
                    ):
                        disabled.append((c.endpoint_id, recorded.disable))
            for c, _, _ in batch:  # committed: no longer held, nor renewed
                c.lease.ids.discard(c.id)
        for endpoint, reason in disabled:
            log.warning("webhook worker: endpoint %d disabled: %s", endpoint, reason)
        if disabled:
            self.after()  # the admins' email is queued
        return retries
