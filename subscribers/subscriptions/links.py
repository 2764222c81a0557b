"""The absolute links put in emails and pages for one subscriber."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from subscribers.subscriptions.tokens import Claims, Purpose, Tokens


class Holder(Protocol):
    """Whoever a link is for: a subscriber row, or a recipient found by matching."""

    @property
    def id(self) -> int: ...

    @property
    def token_version(self) -> int: ...


@dataclass(frozen=True)
class Links:
    base_url: str
    tokens: Tokens

    def token(self, subscriber: Holder, purpose: Purpose, group_id: int | None = None) -> str:
        claims = Claims(subscriber.id, subscriber.token_version, purpose, group_id)
        return self.tokens.make(claims)

    def confirm(self, subscriber: Holder) -> str:
        return f"{self.base_url}/subscriptions/confirm/{self.token(subscriber, Purpose.confirm)}"

    def join(self, subscriber: Holder, group_id: int) -> str:
        token = self.token(subscriber, Purpose.membership, group_id)
        return f"{self.base_url}/subscriptions/join/{token}"

    def manage(self, subscriber: Holder) -> str:
        return f"{self.base_url}/subscriptions/manage/{self.token(subscriber, Purpose.manage)}"

    def unsubscribe(self, subscriber: Holder) -> str:
        return f"{self.base_url}/unsubscribe/{self.token(subscriber, Purpose.unsubscribe)}"

    def discuss(self, subscriber: Holder, brief_id: uuid.UUID) -> str:
        """Record a team discussion of one brief (practice/discussions): bound to the person
        and the brief, for 90 days."""
        claims = Claims(subscriber.id, subscriber.token_version, Purpose.discuss, None, brief_id)
        return f"{self.base_url}/discussions/new/{self.tokens.make(claims)}"

    def acknowledge(self, subscriber: Holder, brief_id: uuid.UUID) -> str:
        """ "I've read this" of one brief (practice/acknowledgements): bound to the person and
        the brief, for 180 days. A digest carries one per brief."""
        claims = Claims(
            subscriber.id, subscriber.token_version, Purpose.acknowledge, None, brief_id
        )
        return f"{self.base_url}/acknowledge/{self.tokens.make(claims)}"

    def acknowledge_sent(self, subscriber: Holder) -> str:
        """ "I've read this" of any brief the person was sent, whose id follows the link
        (``…/{brief_id}``): a digest signs one token, not one per brief (the page checks the
        person was sent the brief). For 180 days."""
        token = self.token(subscriber, Purpose.acknowledge_sent)
        return f"{self.base_url}/acknowledge/{token}"

    def discuss_sent(self, subscriber: Holder) -> str:
        """Record a team discussion of any brief the person was sent, whose id follows the
        link (``…/{brief_id}``), as ``acknowledge_sent``. For 90 days."""
        return f"{self.base_url}/discussions/new/{self.token(subscriber, Purpose.discuss_sent)}"

    def manage_api(self, subscriber: Holder) -> str:
        return f"{self.base_url}/api/v1/subscriptions/{self.token(subscriber, Purpose.manage)}"
