"""Where rendered messages go: one Protocol, an SMTP and a Maildir implementation."""

from __future__ import annotations

import asyncio
import mailbox
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from service.mail.errors import PermanentFailure, TemporaryFailure
from service.mail.smtp import SmtpSender
from service.settings import Settings

__all__ = [
    "MaildirSender",
    "PermanentFailure",
    "Sender",
    "SmtpSender",
    "TemporaryFailure",
    "sender_from_settings",
]


@runtime_checkable
class Sender(Protocol):
    """Hands one message to the next hop, or raises TemporaryFailure or PermanentFailure."""

    async def send(self, message: bytes, *, sender: str, recipient: str) -> None: ...

    async def close(self) -> None: ...


class MaildirSender:
    """Delivers into a Maildir that any mail client can open: the default without SMTP."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.Maildir | None = None
        # mailbox.Maildir is not thread-safe, and each write runs in a worker thread.
        self._lock = threading.Lock()

    async def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        # The headers a delivery agent would add, so the envelope can be seen in the file.
        envelope = f"Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n".encode()
        try:
            await asyncio.to_thread(self._write, envelope + message)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to the Maildir {self.path}: {exc}") from exc

    async def close(self) -> None:
        """Nothing is held open between messages."""

    def _write(self, message: bytes) -> None:
        with self._lock:
            if self._box is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._box = mailbox.Maildir(self.path, create=True)
            # Files in a Maildir use the local line ending, not the wire's CRLF.
            self._box.add(message.replace(b"\r\n", b"\n"))


def sender_from_settings(settings: Settings) -> Sender:
    """SMTP when LEARNHUB_SMTP_URL is set, else the Maildir at LEARNHUB_MAILDIR."""
    if settings.smtp_url is None:
        return MaildirSender(settings.maildir)
    return SmtpSender.from_url(
        settings.smtp_url.get_secret_value(),
        concurrency=settings.mail_concurrency,
        rate=settings.mail_rate,
    )
