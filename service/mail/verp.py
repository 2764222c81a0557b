"""The envelope sender of each message (VERP): ``bounces+m123-k7f2q9xa@example.org``.

A bounce comes back to the envelope sender of the message that bounced. With one such
address a message, the address says which message, and so which recipient, bounced:
nothing has to be guessed from the bounce's text. The token names the message's id and
carries a MAC of it made with the service's key, so that nobody can make up a bounce for
a message of their choosing (and have an address suspended).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from service.settings import Settings

PREFIX = "m"
_TOKEN = re.compile(r"m([0-9]+)-([a-z2-7]{8})")
_CACHE = 1024


class ReturnPath:
    """Makes and reads the per-message envelope senders of one bounce address."""

    def __init__(self, bounce_address: str, secret: str) -> None:
        local, _, domain = bounce_address.rpartition("@")
        if not local or not domain or "+" in local:
            raise ValueError(f"{bounce_address!r} is not a plain address (local@domain, no '+')")
        self.local, self.domain = local, domain.lower()
        self._key = hashlib.sha256(b"learnhub.verp:" + secret.encode()).digest()

    def address(self, message_id: int) -> str:
        """The envelope sender for the message: ``local+token@domain``."""
        return f"{self.local}+{PREFIX}{message_id}-{self._mac(message_id)}@{self.domain}"

    def message_id(self, address: str) -> int | None:
        """The message an address (or an address in angle brackets) was made for, if it is
        one of ours and its MAC holds; None otherwise."""
        address = address.strip().strip("<>").strip()
        local, _, domain = address.rpartition("@")
        base, plus, token = local.partition("+")
        if not plus or domain.lower() != self.domain or base.lower() != self.local.lower():
            return None
        found = _TOKEN.fullmatch(token.lower())
        if found is None:
            return None
        message_id = int(found.group(1))
        if not hmac.compare_digest(found.group(2), self._mac(message_id)):
            return None
        return message_id

    def _mac(self, message_id: int) -> str:
        digest = hmac.new(self._key, str(message_id).encode(), hashlib.sha256).digest()
        # 40 bits, in letters and digits that survive any MTA's handling of a local part
        # (lower case: some fold it).
        return base64.b32encode(digest[:5]).decode().lower()


def return_path_from(settings: Settings) -> ReturnPath | None:
    """The envelope senders LEARNHUB_BOUNCE_ADDRESS asks for, if it is set."""
    if settings.bounce_address is None:
        return None
    return ReturnPath(settings.bounce_address, settings.signing_key())
