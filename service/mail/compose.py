"""Rendering an email from its templates into the exact bytes that will go on the wire.

A message is rendered in two steps, so that the costly one can be shared: ``prepare``
renders a kind's templates and encodes them (a ``Draft``), leaving a hole for each value of
the recipient's own (their links, each carrying their token); ``finish`` fills the holes
and writes the headers for one recipient. Everyone who gets the same brief for the same
reasons can share one draft: queueing 10,000 alerts renders a handful.

Drafts that differ can still share parts: a template marks a part that depends only on one
value with ``{% cache value %}…{% endcache %}``, and within one job (the ``Fragments``
given to ``prepare``) that part is rendered and encoded once per value, e.g. a digest's
item once per item, however many digests show it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    nodes,
    select_autoescape,
)
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.runtime import Context
from markupsafe import escape

from service.mail import mime
from service.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
PARTS = ("subject.txt", "body.txt", "body.html")
LIST_NAME = "Merseyside safeguarding learning"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
UNSUBSCRIBE = "unsubscribe_url"
FRAGMENTS = "_fragments"  # the context variable holding a job's Fragments


class UnsafeHeader(ValueError):
    """A header value would break out of its line: refused before anything is queued."""


@dataclass(frozen=True, slots=True)
class Composed:
    recipient: str
    subject: str
    message: bytes


@dataclass(frozen=True, slots=True)
class Draft:
    """A kind rendered and encoded for everyone who shares its context; see Composer.prepare."""

    kind: str
    personal: frozenset[str]  # the names of the values finish() needs for each recipient
    subject: str
    subject_header: bytes
    text: mime.Part
    html: mime.Part


@dataclass
class Fragments:
    """What the drafts of one job share below a whole message (see FragmentCache)."""

    rendered: dict[tuple[str, Hashable], str] = field(default_factory=dict)
    encoded: dict[str, bytes] = field(default_factory=dict)  # by the text: see mime.Part.of
    lined: dict[mime.Lined, mime.Pieces] = field(default_factory=dict)  # the same


# Addresses as email-validator stores them: checked by a regex, not by the header parser,
# which costs ~50 µs an address: 5 s of a 100,000-person digest run.
_PLAIN_ADDRESS = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
# Unsubscribe links as Links makes them, accepted without parsing the URL (~4 µs).
# The usual links, checked by one match: https anywhere, or http on this machine (a local
# development server); anything else goes through the full check.
_PLAIN_HTTPS_URL = re.compile(
    r"(?:https://[a-z0-9.-]+|http://(?:localhost|127\.0\.0\.1))(?::[0-9]+)?(?:/[A-Za-z0-9._~/-]*)?"
)
_LINE_BREAK = re.compile(r"[\r\n\0]")


def normalise_address(address: str) -> str:
    """The bare address, lower-cased; refuses anything that is not exactly one address."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    _refuse_line_breaks("recipient", address)
    try:
        # email-validator, for the unusual ones: an international domain, or a local part
        # beyond ASCII (RFC 6531), which the header parser refuses; whether such a one can
        # be sent is the SMTP server's to say (service.mail.smtp).
        valid = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise UnsafeHeader(f"{address!r} is not a single email address") from exc
    return str(valid.normalized).lower()


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
        # What stands for a personal value while rendering: random, so that no brief's text
        # can contain it; letters and digits, which HTML escaping leaves as they are.
        self._nonce = secrets.token_hex(16)

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
        personal = {} if unsubscribe_url is None else {UNSUBSCRIBE: unsubscribe_url}
        return self.finish(self.prepare(kind, context, personal), recipient, personal, now=now)

    def prepare(
        self,
        kind: str,
        context: Mapping[str, Any],
        personal: Collection[str],
        fragments: Fragments | None = None,
    ) -> Draft:
        """Render ``kind`` once, with a hole for each name in ``personal``.

        Templates see ``context``, ``base_url`` and ``unsubscribe_url`` (None unless it is
        one of the ``personal`` names, which also adds the List-Unsubscribe headers). A
        personal value may only be written out as it is (``{{ manage_url }}``, text may
        follow it: ``{{ acknowledge_url }}/{{ item.brief.id }}``): a template that tests it
        or passes it through a filter would see the hole's marker instead.
        ``fragments`` keeps the parts marked ``{% cache %}``, for the other drafts of a job.
        """
        if kind not in self._kinds:
            raise LookupError(f"no email templates for {kind!r} in {TEMPLATES}")
        holes = {name: f"{self._nonce}{name}{self._nonce}" for name in personal}
        values = {
            **context,
            "base_url": self.base_url,
            UNSUBSCRIBE: None,
            **holes,
            FRAGMENTS: fragments,
        }
        subject_t, text_t, html_t = self._kinds[kind]
        subject = subject_t.render(values).strip()
        _refuse_line_breaks("Subject", subject)
        if self._nonce in subject:
            raise ValueError(f"the subject of {kind!r} may not hold a personal value")
        encoded = fragments.encoded if fragments else None
        lined = fragments.lined if fragments else None
        return Draft(
            kind=kind,
            personal=frozenset(personal),
            subject=subject,
            subject_header=mime.header("Subject", subject),
            text=mime.Part.of("plain", text_t.generate(values), holes, encoded, lined),
            html=mime.Part.of("html", html_t.generate(values), holes, encoded, lined),
        )

    def finish(
        self, draft: Draft, recipient: str, personal: Mapping[str, str], *, now: datetime
    ) -> Composed:
        """The message for one recipient: the draft with their ``personal`` values filled in."""
        if personal.keys() != draft.personal:
            raise ValueError(
                f"{draft.kind!r} needs {sorted(draft.personal)}, not {sorted(personal)}"
            )
        recipient = normalise_address(recipient)
        for name, value in personal.items():
            _refuse_line_breaks(name, value)
            if not value:
                raise ValueError(f"{name} is empty")
        unsubscribe_url = personal.get(UNSUBSCRIBE)
        if unsubscribe_url is not None:
            _check_unsubscribe_url(unsubscribe_url)
        headers = [
            self._from,
            mime.header("To", recipient),
            draft.subject_header,
            _date(now, now.utcoffset()),
            mime.header("Message-ID", make_msgid(domain=self.host)),
            self._list_id,
            # Tells out-of-office responders not to answer (RFC 3834).
            b"Auto-Submitted: auto-generated\r\n",
        ]
        if unsubscribe_url is not None:
            headers += [mime.header("List-Unsubscribe", f"<{unsubscribe_url}>"), self._one_click]
        # The HTML part gets each value escaped, as the template's autoescaping would have.
        html = {name: str(escape(value)) for name, value in personal.items()}
        body = mime.assemble(headers, draft.text.fill(personal), draft.html.fill(html))
        return Composed(recipient=recipient, subject=draft.subject, message=body)


class FragmentCache(Extension):
    """``{% cache key %}…{% endcache %}``: the part is rendered once per key in a job.

    The key must be a value the part's text depends on entirely, and that does not change
    during the job (a frozen value, a row); a part that writes out personal values has them
    in its key too (``{% cache (item, acknowledge_url) %}``: in a draft they are placeholders,
    the same in every draft of the job, and the lines holding them are filled per person).
    The rendered text is kept in the job's ``Fragments``, under the part's place in its
    template and the key, and comes out as one chunk, which mime.Part.of encodes (or cuts
    around its placeholders) once if it is made of whole lines. Without fragments (a message
    rendered on its own) the part is simply rendered.
    """

    tags = {"cache"}  # noqa: RUF012  # as Extension declares it

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        # The same value shows differently in body.txt and body.html: the place is in the key.
        place = nodes.Const(f"{parser.name}:{lineno}")
        call = self.call_method("_render", [nodes.ContextReference(), place, key])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    @staticmethod
    def _render(context: Context, place: str, key: Hashable, caller: Callable[[], str]) -> str:
        fragments: Fragments | None = context.get(FRAGMENTS)
        if fragments is None:
            return caller()
        text = fragments.rendered.get((place, key))
        if text is None:
            text = fragments.rendered[place, key] = caller()
        return text


def _compile(folder: Path) -> dict[str, tuple[Template, Template, Template]]:
    environment = Environment(
        extensions=[FragmentCache],
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


@lru_cache(maxsize=64)
def _date(now: datetime, offset: timedelta | None) -> bytes:
    """The Date header, made once per job: a job stamps all its messages with one time.

    The offset is part of the key because equal moments in two zones are equal datetimes.
    """
    return mime.header("Date", format_datetime(now))


def _refuse_line_breaks(field: str, value: str) -> None:
    if _LINE_BREAK.search(value):
        raise UnsafeHeader(f"the {field} of an email may not contain a line break: {value!r}")


def _check_unsubscribe_url(url: str) -> None:
    if _PLAIN_HTTPS_URL.fullmatch(url):
        return
    _refuse_line_breaks("List-Unsubscribe", url)
    parts = urlsplit(url)
    # RFC 8058 one-click needs https; plain http is allowed only for a local development server.
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not secure or not parts.hostname or any(ch in url for ch in "<> \t"):
        raise UnsafeHeader(f"an unsubscribe link must be a plain https URL: {url!r}")
