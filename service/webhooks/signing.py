"""Signing per the Standard Webhooks specification, with its own library.

Each endpoint has a secret of 32 random bytes, shown as ``whsec_`` and their base64 (the
spec's form). Every attempt is signed anew: the content signed is
``{webhook-id}.{webhook-timestamp}.{body}`` (HMAC-SHA256), sent as ``v1,{base64}``; the id
stays the same across attempts, the timestamp is the attempt's.
"""

from __future__ import annotations

import base64
import math
import secrets
from datetime import datetime

from standardwebhooks import Webhook

SECRET_BYTES = 32  # the spec: at least 24


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A delivery's ``webhook-id``: random, so that it says nothing of other deliveries, and
    without a full stop (the signed content is split on them)."""
    return "msg_" + secrets.token_urlsafe(18)


def headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three headers of an attempt made at ``at``, and its content type."""
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
