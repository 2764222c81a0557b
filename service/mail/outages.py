"""Saying when sending fails as a whole: once when an outage starts, once when it ends.

One temporary failure is a message's own (a greylisting server, a full mailbox). A run of
``threshold`` with nothing delivered between them is the relay, or the way to it: that is
an outage, logged as a WARNING with the error, and its end as an INFO with how long it
lasted and how many messages it deferred. Nothing is lost meanwhile (the mail waits in
the queue and is retried with backoff), so the log is the only place it shows.
"""

from __future__ import annotations

import logging
from datetime import datetime

from service.clock import Clock
from service.mail.queue import Outcome, Result

logger = logging.getLogger("service.mail.worker")


class OutageLog:
    def __init__(self, clock: Clock, *, threshold: int) -> None:
        self._clock, self._threshold = clock, threshold
        self.down = False
        self._since: datetime | None = None  # the first failure of the run
        self._failures = 0  # temporary failures in a row
        self._deferred: set[int] = set()  # messages they deferred

    def tell(self, result: Result) -> None:
        """Hear how a send ended."""
        if result.outcome is Outcome.temporary:
            self._failed(result)
        elif result.outcome in (Outcome.sent, Outcome.permanent):  # the server answered
            self._recovered()

    def _failed(self, result: Result) -> None:
        if self._since is None:
            self._since = self._clock()
        self._failures += 1
        self._deferred.add(result.message.id)
        if not self.down and self._failures >= self._threshold:
            self.down = True
            logger.warning(
                "mail worker: sending is failing (%s); %d messages deferred so far, kept in "
                "the queue and retried with backoff",
                result.error,
                len(self._deferred),
            )

    def _recovered(self) -> None:
        if self.down and self._since is not None:
            lasted = (self._clock() - self._since).total_seconds()
            logger.info(
                "mail worker: sending works again after %.0f s; %d messages were deferred "
                "during the outage (%d failed attempts)",
                lasted,
                len(self._deferred),
                self._failures,
            )
        self.down, self._since, self._failures = False, None, 0
        self._deferred.clear()
