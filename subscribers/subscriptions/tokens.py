"""Signed links for subscribers: bound to one person, revocable, some of them expiring.

A token carries the subscriber's id, their token version and what it is for, signed with
the service's secret key. Erasing a person deletes their row, so no old token finds them;
raising ``token_version`` revokes every link sent before.
"""

from __future__ import annotations

import binascii
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

from service.clock import Clock, utcnow
from service.errors import DomainError

CONFIRM_FOR = timedelta(days=7)
# A link to record a team discussion of a brief serves the meeting that uses it, weeks later.
DISCUSS_FOR = timedelta(days=90)
# "I've read this" in an alert or digest: months later is still worth recording.
ACKNOWLEDGE_FOR = timedelta(days=180)


class Purpose(StrEnum):
    confirm = "c"  # confirm one's own subscription
    membership = "j"  # confirm membership of a group
    manage = "m"
    unsubscribe = "u"
    discuss = "d"  # record a team discussion of one brief (practice/discussions)
    acknowledge = "a"  # "I've read this" of one brief (practice/acknowledgements)
    # The same, of any brief the person was sent, named in the link beside the token and
    # checked against the mail records: a digest signs one of each, not one per brief.
    discuss_sent = "t"
    acknowledge_sent = "r"


# How long a link lasts, if it expires.
MAX_AGE = {
    Purpose.confirm: CONFIRM_FOR,
    Purpose.membership: CONFIRM_FOR,
    Purpose.discuss: DISCUSS_FOR,
    Purpose.discuss_sent: DISCUSS_FOR,
    Purpose.acknowledge: ACKNOWLEDGE_FOR,
    Purpose.acknowledge_sent: ACKNOWLEDGE_FOR,
}
# Tokens of these purposes name their brief; those of the others never do.
NAME_A_BRIEF = {Purpose.acknowledge}
NAME_NO_BRIEF = {Purpose.acknowledge_sent, Purpose.discuss_sent}


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _urlsafe(data: bytes) -> bytes:
    """itsdangerous's base64_encode (URL-safe base64, unpadded) without its layers of calls:
    a digest run makes four tokens a person."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


class TokenProblem(DomainError):
    """A link that can't be used; the message says why, for the person holding it."""

    code = "invalid_token"
    status = 404


@dataclass(frozen=True)
class Claims:
    subscriber_id: int
    version: int
    purpose: Purpose
    group_id: int | None = None
    brief_id: uuid.UUID | None = None  # the brief a link is about, written only when set


class Tokens:
    def __init__(self, secret: str, clock: Clock = utcnow) -> None:
        class ClockSigner(TimestampSigner):
            """Stamps and checks ages by the service's clock, which tests can move."""

            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._serializer = URLSafeTimedSerializer(
            secret, salt="learnhub.subscriber", signer=ClockSigner
        )
        # The serializer's dumps builds a signer and derives its key for every token: 16 µs,
        # and every email carries two links. make() writes the same token from a keyed HMAC
        # made once, with the signer's own key and digest.
        signer = self._serializer.make_signer()
        self._mac = hmac.new(signer.derive_key(), digestmod=signer.digest_method)
        self._sep = signer.sep
        self._clock = clock
        self._stamped: tuple[int, bytes] = (-1, b"")

    def make(self, claims: Claims) -> str:
        """The token the serializer's dumps makes: payload.timestamp.signature, in base64.

        The payload is its compact JSON, never compressed (the serializer compresses only
        what gets shorter, which four small values do not; ``read`` takes either form),
        written out directly: two or three integers and a purpose, one letter that JSON
        writes as it is.
        """
        group = "null" if claims.group_id is None else int(claims.group_id)
        brief = "" if claims.brief_id is None else f',"{claims.brief_id.hex}"'
        payload = (
            f'[{int(claims.subscriber_id)},{int(claims.version)},"{claims.purpose.value}",{group}'
            f"{brief}]"
        )
        value = _urlsafe(payload.encode("ascii")) + self._sep + self._stamp()
        mac = self._mac.copy()
        mac.update(value)
        return (value + self._sep + _urlsafe(mac.digest())).decode("ascii")

    def _stamp(self) -> bytes:
        """The encoded timestamp, made once a second rather than once a token."""
        now = int(self._clock().timestamp())
        stamped = self._stamped
        if stamped[0] != now:
            stamped = self._stamped = (now, base64_encode(int_to_bytes(now)))
        return stamped[1]

    def read(self, token: str, purpose: Purpose) -> Claims:
        age = MAX_AGE.get(purpose)
        max_age = None if age is None else int(age.total_seconds())
        try:
            subscriber_id, version, used_for, group_id, *brief = self._serializer.loads(
                token, max_age=max_age
            )
            brief_id = uuid.UUID(hex=brief[0]) if brief else None
        except SignatureExpired:
            raise TokenProblem(_EXPIRED.get(purpose, _EXPIRED[Purpose.confirm])) from None
        except (BadSignature, ValueError, TypeError, AttributeError):
            raise TokenProblem(NOT_VALID) from None
        if used_for != purpose.value or len(brief) > 1:
            raise TokenProblem("This link is not valid here. Use the link from your email.")
        if (purpose in NAME_A_BRIEF and brief_id is None) or (
            purpose in NAME_NO_BRIEF and brief_id is not None
        ):
            raise TokenProblem("This link is not valid here. Use the link from your email.")
        return Claims(int(subscriber_id), int(version), purpose, group_id, brief_id)


def brief_in_link(value: str) -> uuid.UUID:
    """The brief's id that follows a person's token in a digest's link (``Purpose.*_sent``)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise TokenProblem(NOT_VALID) from None


NOT_VALID = "This link is not valid. Check that you copied all of it."
_EXPIRED = {
    Purpose.confirm: "This link has expired. Links to confirm last 7 days: ask again and we will "
    "send a new one.",
    Purpose.discuss: "This link has expired. Links to record a team discussion last 90 days: "
    "sign in as a practitioner, or use the link in a newer email.",
    Purpose.acknowledge: "This link has expired. Links to say you have read a brief last 180 "
    "days: use the link in a newer email.",
}
_EXPIRED[Purpose.discuss_sent] = _EXPIRED[Purpose.discuss]
_EXPIRED[Purpose.acknowledge_sent] = _EXPIRED[Purpose.acknowledge]
