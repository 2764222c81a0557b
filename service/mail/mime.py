"""Writing a two-part (text and HTML) message straight to bytes.

The stdlib's EmailMessage parses and re-folds every header through its policy machinery,
which cost about 7 ms a message here: most of the time of a 100,000-person digest run. The
few headers we write are either constant (prepared once), plain ASCII within a line, or
encoded with ``email.header``; the bodies are quoted-printable in UTF-8 with CRLF line ends.
Anything unusual (a non-ASCII address) goes through the stdlib's folding, which is correct
for every case, just slower.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable
from email import policy
from email.header import Header

MAX_LINE = 78
# 45 bytes are 60 base64 characters: with "=?utf-8?b?" and "?=" a word stays within 75.
WORD_BYTES = 45
WORD_OVERHEAD = len("=?utf-8?b??=")
HARD_LIMIT = 900


def header(name: str, value: str) -> bytes:
    """One header field, folded and encoded as RFC 5322 and RFC 2047 require."""
    if value.isascii() and (len(name) + 2 + len(value) <= MAX_LINE or _unfoldable(value)):
        return f"{name}: {value}\r\n".encode("ascii")
    if name in ("To", "From", "Cc", "Reply-To"):
        # Addresses must not become encoded words: let the stdlib handle them.
        folded = policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)
        return folded.encode("ascii")
    if value.isascii():
        folded = Header(value, "us-ascii", maxlinelen=MAX_LINE, header_name=name)
        encoded = folded.encode(linesep="\r\n")
    else:
        first = (MAX_LINE - len(name) - 2 - WORD_OVERHEAD) // 4 * 3
        encoded = "\r\n ".join(_encoded_words(value, first))
    return f"{name}: {encoded}\r\n".encode("ascii")


def _encoded_words(value: str, first: int) -> list[str]:
    """RFC 2047 "B" encoded words of at most 75 characters, split between characters.

    The first word shares its line with the field name, so it carries ``first`` bytes.
    """
    words: list[str] = []
    chunk: list[str] = []
    size, budget = 0, first
    for char in value:
        length = len(char.encode("utf-8"))
        if size + length > budget:
            words.append(_word("".join(chunk)))
            chunk, size, budget = [], 0, WORD_BYTES
        chunk.append(char)
        size += length
    words.append(_word("".join(chunk)))
    return words


def _word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode('utf-8')).decode('ascii')}?="


def _unfoldable(value: str) -> bool:
    # A long URL has no space to fold at; RFC 5322 allows such a line up to 998 characters.
    return len(value) <= HARD_LIMIT and not any(ch.isspace() for ch in value)


def _part(subtype: str, content: str) -> bytes:
    crlf = content.replace("\r\n", "\n").replace("\n", "\r\n")
    if not crlf.endswith("\r\n"):
        crlf += "\r\n"
    body = binascii.b2a_qp(crlf.encode("utf-8"), istext=True)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii") + body


def assemble(headers: Iterable[bytes], text: str, html: str) -> bytes:
    """A multipart/alternative message: the text part first, then the HTML."""
    # Quoted-printable writes every "=" as "=3D", so "=_" can never occur in a body.
    boundary = f"=_{secrets.token_hex(12)}"
    head = b"".join(headers) + (
        f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
    ).encode("ascii")
    # The line break before a delimiter belongs to the delimiter, not to the part above it.
    separator = f"\r\n--{boundary}\r\n".encode("ascii")
    closing = f"\r\n--{boundary}--\r\n".encode("ascii")
    return b"".join(
        [head, separator[2:], _part("plain", text), separator, _part("html", html), closing]
    )
