"""How a sender says that a message did not go: try again later, or never."""

from __future__ import annotations


class TemporaryFailure(Exception):
    """The message may go later: a 4xx reply, a refused or dropped connection, a timeout."""


class PermanentFailure(Exception):
    """The recipient's server refused this message for good (a 5xx reply to RCPT or DATA)."""
