"""What the mail worker holds, from a claim until its outcome is written, seen by each part.

A claimed message waits in the inbox, is sent by a lane, and its outcome waits to be written
by the recorder. The claimer claims the next batch only while no more than a batch is held;
the recorder writes at once when nothing is being sent or waiting to be; the lanes take no
new message while too many outcomes are unwritten. Each part waits for a condition of its
own on this state and looks again whenever it may have changed its way (``changed``): after
a write, or when the worker stops or gives up on a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from service.mail.queue import Claimed, Result

Inbox = asyncio.Queue[Claimed | None]  # None ends the lane that takes it


class Held:
    def __init__(self) -> None:
        self.inbox: Inbox = asyncio.Queue()  # claimed, not yet taken by a lane
        self.sending = 0  # taken by a lane, its outcome not yet known
        self.unwritten: list[Result] = []  # outcomes not yet written
        self.writing = 0  # outcomes being written
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return self.inbox.qsize() + self.sending + len(self.unwritten) + self.writing

    def idle(self) -> bool:
        """Nothing is being sent, nor waiting to be."""
        return self.sending == 0 and self.inbox.empty()

    def new_inbox(self) -> Inbox:
        """An empty inbox, for a round of sending."""
        self.inbox = asyncio.Queue()
        return self.inbox

    def changed(self) -> None:
        """Wake every part waiting for a condition on what is held."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds, looking again at each ``changed``."""
        while not condition():
            await self._changed.wait()
