"""The mail worker's lanes: one per SMTP connection, each sending message after message.

A lane takes the next message from the inbox the claimer keeps a batch ahead, sends it, and
hands its outcome to the recorder, as the plainest fast sender would: it never waits for a
claim nor for a write. It waits for one thing: it takes no new message while twice a
write's worth of outcomes are unwritten (a slow or absent database), for those, and the
messages on the wire, are what a killed worker would send twice.

A message is sent only with half its lease left, and its send is cut short a quarter of a
lease before the lease ends (the heartbeat's renewals move that moment): its outcome has to
be written under its lease, or another worker may claim the message and send it too.
Handing back (a stop, or run_once's database gone) releases every message still taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from service.clock import Clock
from service.mail.errors import PermanentFailure, TemporaryFailure
from service.mail.held import Held, Inbox
from service.mail.leases import LeaseKeeper
from service.mail.outages import OutageLog
from service.mail.queue import Claimed, Outcome, Result
from service.mail.recorder import Recorder
from service.mail.senders import Sender

logger = logging.getLogger("service.mail.worker")


class Lanes:
    """The lanes of one round of sending, over a new, empty inbox (``held.inbox``)."""

    def __init__(
        self,
        held: Held,
        recorder: Recorder,
        keeper: LeaseKeeper,
        outage: OutageLog,
        sender: Sender,
        clock: Clock,
        *,
        envelope_from: str,
        count: int,
        return_path: Callable[[int], str] | None = None,
    ) -> None:
        self._held, self._recorder, self._keeper, self._outage = held, recorder, keeper, outage
        self._sender, self._clock, self._envelope_from = sender, clock, envelope_from
        self._count = count
        # Each message's own envelope sender (VERP), so its bounce names it: service.mail.verp.
        self._return_path = return_path
        # A new one: a round that failed may have left its inbox with messages and ends.
        self._inbox: Inbox = held.new_inbox()
        self._handing_back = False

    def put(self, messages: Iterable[Claimed]) -> None:
        for message in messages:
            self._inbox.put_nowait(message)

    def close(self) -> None:
        """No more messages: each lane ends once what is queued before this is taken."""
        for _ in range(self._count):
            self._inbox.put_nowait(None)

    def hand_back(self) -> None:
        """Send nothing more: every message taken from now on is released untried."""
        self._handing_back = True
        self._held.changed()

    async def run(self) -> None:
        """The lanes, until each has taken its end of the inbox."""
        async with asyncio.TaskGroup() as lanes:
            for _ in range(self._count):
                lanes.create_task(self._lane())

    async def _lane(self) -> None:
        held = self._held
        while True:
            # Bounded unwritten outcomes: what a crash could send twice.
            await held.until(self._may_take)
            message = await self._inbox.get()
            if message is None:
                return
            held.sending += 1
            try:
                if self._handing_back or not self._leased_long_enough(message):
                    result = Result(message, Outcome.released)
                else:
                    result = await self._attempt(message)
                    self._outage.tell(result)
            finally:
                held.sending -= 1
            self._recorder.add(result)

    def _may_take(self) -> bool:
        return self._handing_back or self._recorder.has_room()

    def _leased_long_enough(self, message: Claimed) -> bool:
        # A slow server or a rate cap can keep the end of a batch waiting, and renewals can
        # fail. Once half its lease is gone, another worker may soon claim it too: hand it
        # back rather than race. One claimed by another worker already is not ours to send.
        if message.id in message.lease.lost:
            return False
        return self._clock() < message.leased_until - self._keeper.length / 2

    def _sender_of(self, message: Claimed) -> str:
        if self._return_path is None:
            return self._envelope_from
        return self._return_path(message.id)

    async def _attempt(self, message: Claimed) -> Result:
        try:
            # Cut short a quarter of a lease before the lease ends (renewals move it).
            async with self._keeper.deadline(message.lease):
                await self._sender.send(
                    message.body, sender=self._sender_of(message), recipient=message.recipient
                )
        except TimeoutError:  # ours: the sender's own timeouts are TemporaryFailure
            return Result(message, Outcome.temporary, "the send did not end well within its lease")
        except PermanentFailure as exc:
            return Result(message, Outcome.permanent, str(exc))
        except TemporaryFailure as exc:
            return Result(message, Outcome.temporary, str(exc))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # we are being cancelled
            # A library's own cancellation leaking out of a send: a failure of that message,
            # not a reason for its lane to stop.
            logger.error("mail worker: sending message %d was cancelled", message.id)
            return Result(message, Outcome.temporary, "the send was cancelled")
        except Exception as exc:
            # An unexpected error is written on the row and retried like a temporary one,
            # so that one odd message cannot stop the queue; the traceback goes to the log.
            logger.exception("mail worker: sending message %d failed", message.id)
            return Result(message, Outcome.temporary, f"{type(exc).__name__}: {exc}")
        return Result(message, Outcome.sent, at=self._clock())
