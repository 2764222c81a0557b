"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, scriptable, stoppable and restartable.

Use the ``smtp_server`` fixture (import it into a conftest.py), then for example::

    smtp_server.answer_rcpt("451 4.7.1 Try later")   # the next RCPT only, then 250
    smtp_server.refuse("gone@example.org")           # 550 for that address, always
    smtp_server.stop(); ...; smtp_server.start()     # an outage, same port
    received = await smtp_server.received(3)         # waits (no sleeping) for 3 messages
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    content: bytes

    def parsed(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.content, policy=policy.default))


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """An aiosmtpd server whose answers a test can script; it runs in its own thread."""

    def __init__(self, port: int | None = None, *, smtputf8: bool = False) -> None:
        self.port = port or free_port()
        self.smtputf8 = smtputf8
        self.messages: list[Received] = []
        self.data_delay = 0.0  # seconds to hold each DATA reply: a slow server
        self._rcpt: deque[str] = deque()
        self._data: deque[str] = deque()
        self._refused: dict[str, str] = {}
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> None:
        if self._controller is None:
            # A Controller cannot be started twice, so a restart makes a new one on the port.
            self._controller = Controller(
                self, hostname=HOST, port=self.port, enable_SMTPUTF8=self.smtputf8
            )
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def answer_rcpt(self, *replies: str) -> None:
        """Answer the next RCPTs with these replies, in order; then accept again."""
        with self._changed:
            self._rcpt.extend(replies)

    def answer_data(self, *replies: str) -> None:
        """Answer the next DATAs with these replies, in order; then accept again."""
        with self._changed:
            self._data.extend(replies)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        with self._changed:
            self._refused[address.lower()] = reply

    def accept(self, address: str) -> None:
        with self._changed:
            self._refused.pop(address.lower(), None)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` messages have arrived; fail the test after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                pytest.fail(f"{len(self.messages)} of {count} messages arrived in {timeout} s")
            return list(self.messages)

    async def received(self, count: int, within: float = 10.0) -> list[Received]:
        """``wait_for`` from async code: the event loop goes on while the server works."""
        return await asyncio.to_thread(self.wait_for, count, within)

    def recipients(self) -> list[str]:
        with self._changed:
            return [r for m in self.messages for r in m.recipients]

    # aiosmtpd handler hooks, called in the server's thread.

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._changed:
            reply = self._refused.get(address.lower()) or (
                self._rcpt.popleft() if self._rcpt else None
            )
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._changed:
            reply = self._data.popleft() if self._data else None
        if reply is not None:
            return reply
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content)
        with self._changed:
            self.messages.append(received)
            self._changed.notify_all()
        if self.data_delay:
            # The message is in, the 250 is not out yet: what a client killed now leaves behind.
            await asyncio.sleep(self.data_delay)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
