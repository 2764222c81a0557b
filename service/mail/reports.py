"""Reading what comes back after the relay accepted a message: bounces and complaints.

A delivery status notification (RFC 3464, and the older formats some servers still write)
is read by Mailman's ``flufl.bounce``: which recipients failed for good, which only for the
time being. Its per-recipient ``Status`` and ``Diagnostic-Code`` fields, read with the email
package, give the reason; a failure whose status is 4.x.x (a mailbox full, say, given up
after days of trying) is soft, whatever the action. A complaint is an abuse report in the
Abuse Reporting Format (RFC 5965): its machine-readable part is a block of header fields,
which the email package parses.

Which message a report is about comes from the envelope sender the message carried
(service.mail.verp): the report's own envelope recipient (``Delivered-To``, ``X-Original-To``
or ``To``), the complaint's ``Original-Mail-From``, or the ``Return-Path`` of the original
headers a report encloses. Nothing here touches the database.
"""

from __future__ import annotations

import email
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum

from flufl.bounce import all_failures

from service.mail.verp import ReturnPath

# flufl.bounce names every detector it tries at INFO: seventeen lines a report.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# Feedback types that are a person saying "this is unwanted" (RFC 5965 section 7.3);
# "not-spam" and "auth-failure" are not.
COMPLAINTS = {"abuse", "fraud", "virus", "other"}
MAX_REASON = 500


class Kind(StrEnum):
    hard = "hard"  # failed for good: counts like a 5xx (three in a row suspend the address)
    soft = "soft"  # failed for the time being, or given up on a temporary failure: recorded
    complaint = "complaint"  # the person reported the message as unwanted: unsubscribed


@dataclass(frozen=True)
class Failure:
    email: str
    kind: Kind
    reason: str


@dataclass(frozen=True)
class Report:
    """What one bounce or complaint says. ``key`` names the report itself (its Message-ID,
    else a digest of its bytes), so that reading it twice counts it once; ``message_id`` is
    the message it is about, when its envelope sender said so."""

    key: str
    message_id: int | None
    failures: tuple[Failure, ...]

    @property
    def understood(self) -> bool:
        return bool(self.failures)


def read(raw: bytes, return_path: ReturnPath | None) -> Report:
    """The report a raw message makes: a DSN, a complaint, or nothing understood."""
    message = email.message_from_bytes(raw)
    key = _key(message, raw)
    try:
        feedback = _feedback(message)
        message_id = _about(message, feedback, return_path)
        failures = list(_bounces(message) if feedback is None else _complaint(message, feedback))
    # Anyone can write to the bounce address, and the email package and flufl.bounce's
    # detectors raise on some malformed messages (a From header in raw 8-bit bytes, a NUL in
    # a charset): such a message is one nothing understood, as any other stranger's is, and
    # never stops the Maildir behind it.
    except Exception:
        return Report(key=key, message_id=None, failures=())
    return Report(key=key, message_id=message_id, failures=tuple(failures))


def _key(message: Message, raw: bytes) -> str:
    message_id = parseaddr(str(message.get("Message-ID", "")))[1].strip()
    if message_id and len(message_id) < 200:
        return f"id:{message_id}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _about(
    message: Message, feedback: Message | None, return_path: ReturnPath | None
) -> int | None:
    if return_path is None:
        return None
    candidates: list[str] = []
    for name in ENVELOPE_HEADERS:
        candidates += [address for _, address in getaddresses(message.get_all(name, []))]
    if feedback is not None:
        candidates.append(str(feedback.get("Original-Mail-From", "")))
    for headers in _enclosed_headers(message):
        candidates.append(str(headers.get("Return-Path", "")))
    for candidate in candidates:
        found = return_path.message_id(candidate) if candidate else None
        if found is not None:
            return found
    return None


def _bounces(message: Message) -> Iterator[Failure]:
    temporary, permanent = all_failures(message)
    status = _statuses(message)
    for kind, found in ((Kind.soft, temporary), (Kind.hard, permanent - temporary)):
        for raw_address in sorted(found):
            address = raw_address.decode("ascii", "replace").strip().lower()
            if "@" not in address:
                continue
            code, diagnostic = status.get(address, ("", ""))
            # A 4.x.x status on a failure: a temporary failure the MTA gave up on.
            kind_here = Kind.soft if kind is Kind.hard and code.startswith("4.") else kind
            reason = " ".join(p for p in (code, diagnostic) if p) or (
                "failed for good" if kind_here is Kind.hard else "delayed"
            )
            yield Failure(address, kind_here, reason[:MAX_REASON])


def _statuses(message: Message) -> dict[str, tuple[str, str]]:
    """Each recipient's Status and Diagnostic-Code in the report's delivery-status parts."""
    found: dict[str, tuple[str, str]] = {}
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in _blocks(part):
            for field in ("Original-Recipient", "Final-Recipient"):
                value = str(block.get(field, ""))
                address = value.partition(";")[2].strip().strip("<>").lower()
                if address:
                    code = str(block.get("Status", "")).split()[0:1]
                    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
                    found.setdefault(address, (code[0] if code else "", diagnostic))
    return found


def _blocks(part: Message) -> Iterable[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _feedback(message: Message) -> Message | None:
    """The machine-readable part of an abuse report, if the message is one."""
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            blocks = list(_blocks(part))
            if blocks:
                return blocks[0]
            payload = part.get_payload()
            if isinstance(payload, str):
                return email.message_from_string(payload)
    return None


def _complaint(message: Message, feedback: Message) -> list[Failure]:
    kind = str(feedback.get("Feedback-Type", "")).strip().lower()
    if kind not in COMPLAINTS:
        return []
    agent = " ".join(str(feedback.get("User-Agent", "")).split())
    reason = f"complaint ({kind})" + (f" from {agent}" if agent else "")
    addresses = [a for _, a in getaddresses(feedback.get_all("Original-Rcpt-To", []))]
    if not addresses:
        for headers in _enclosed_headers(message):
            addresses += [a for _, a in getaddresses(headers.get_all("To", []))]
    found = dict.fromkeys(a.strip().lower() for a in addresses if "@" in a)
    # Some providers redact the recipient: the message's envelope sender still names it.
    return [Failure(a, Kind.complaint, reason[:MAX_REASON]) for a in found] or [
        Failure("", Kind.complaint, reason[:MAX_REASON])
    ]


def _enclosed_headers(message: Message) -> Iterator[Message]:
    """The headers of the original message a report encloses (message/rfc822 or
    text/rfc822-headers)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield email.message_from_bytes(payload)
        elif kind == "message/rfc822":
            yield from _blocks(part)
