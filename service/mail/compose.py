"""Rendering an email from its templates into the exact bytes that will go on the wire."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from service.mail import mime
from service.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
PARTS = ("subject.txt", "body.txt", "body.html")
LIST_NAME = "Merseyside safeguarding learning"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class UnsafeHeader(ValueError):
    """A header value would break out of its line: refused before anything is queued."""


@dataclass(frozen=True)
class Composed:
    recipient: str
    subject: str
    message: bytes


# Addresses as email-validator stores them: checked by a regex, not by the header parser,
# which costs ~50 µs an address: 5 s of a 100,000-person digest run.
_PLAIN_ADDRESS = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def normalise_address(address: str) -> str:
    """The bare address, lower-cased; refuses anything that is not exactly one address."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    _refuse_line_breaks("recipient", address)
    try:
        parsed = Address(addr_spec=address.strip())
    except (ValueError, IndexError) as exc:
        raise UnsafeHeader(f"{address!r} is not a single email address") from exc
    if not parsed.username or not parsed.domain:
        raise UnsafeHeader(f"{address!r} is not a single email address")
    return parsed.addr_spec.lower()


class Composer:
    """Builds messages from ``templates/<kind>/{subject.txt,body.txt,body.html}``."""

    def __init__(self, *, mail_from: str, base_url: str, templates: Path = TEMPLATES) -> None:
        _refuse_line_breaks("From", mail_from)
        self.mail_from = mail_from
        self.envelope_from = parseaddr(mail_from)[1]
        self.base_url = base_url
        self.host = urlsplit(base_url).hostname or "localhost"
        self._kinds = _compile(templates)
        # Parsing a header is a good part of the cost of a message; these never change.
        self._from = mime.header("From", mail_from)
        self._list_id = mime.header("List-Id", f"{LIST_NAME} <learning.{self.host}>")
        self._one_click = mime.header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")

    @classmethod
    def from_settings(cls, settings: Settings) -> Composer:
        return cls(mail_from=settings.mail_from, base_url=settings.base_url)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def compose(
        self,
        kind: str,
        recipient: str,
        context: Mapping[str, Any],
        *,
        now: datetime,
        unsubscribe_url: str | None = None,
    ) -> Composed:
        """Render ``kind`` for ``recipient``; raises UnsafeHeader on a value that could inject."""
        if kind not in self._kinds:
            raise LookupError(f"no email templates for {kind!r} in {TEMPLATES}")
        recipient = normalise_address(recipient)
        if unsubscribe_url is not None:
            _check_unsubscribe_url(unsubscribe_url)
        subject_t, text_t, html_t = self._kinds[kind]
        values = {**context, "base_url": self.base_url, "unsubscribe_url": unsubscribe_url}
        subject = subject_t.render(values).strip()
        _refuse_line_breaks("Subject", subject)
        headers = [
            self._from,
            mime.header("To", recipient),
            mime.header("Subject", subject),
            mime.header("Date", format_datetime(now)),
            mime.header("Message-ID", make_msgid(domain=self.host)),
            self._list_id,
            # Tells out-of-office responders not to answer (RFC 3834).
            b"Auto-Submitted: auto-generated\r\n",
        ]
        if unsubscribe_url is not None:
            headers += [mime.header("List-Unsubscribe", f"<{unsubscribe_url}>"), self._one_click]
        body = mime.assemble(headers, text_t.render(values), html_t.render(values))
        return Composed(recipient=recipient, subject=subject, message=body)


def _compile(folder: Path) -> dict[str, tuple[Template, Template, Template]]:
    environment = Environment(
        loader=FileSystemLoader(folder),
        # Only body.html is HTML: escaping a subject or the text part would show "&amp;".
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        auto_reload=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    kinds = {}
    for kind in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        subject, text, html = (environment.get_template(f"{kind}/{part}") for part in PARTS)
        kinds[kind] = (subject, text, html)
    return kinds


def _refuse_line_breaks(field: str, value: str) -> None:
    if any(ch in value for ch in "\r\n\0"):
        raise UnsafeHeader(f"the {field} of an email may not contain a line break: {value!r}")


def _check_unsubscribe_url(url: str) -> None:
    _refuse_line_breaks("List-Unsubscribe", url)
    parts = urlsplit(url)
    # RFC 8058 one-click needs https; plain http is allowed only for a local development server.
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not secure or not parts.hostname or any(ch in url for ch in "<> \t"):
        raise UnsafeHeader(f"an unsubscribe link must be a plain https URL: {url!r}")
