"""Writing a two-part (text and HTML) message straight to bytes.

The stdlib's EmailMessage parses and re-folds every header through its policy machinery,
which cost about 7 ms a message here: most of the time of a 100,000-person digest run. The
few headers we write are either constant (prepared once), plain ASCII within a line, or
encoded with ``email.header``; the bodies are quoted-printable in UTF-8 with CRLF line ends.
Anything unusual (a non-ASCII address) goes through the stdlib's folding, which is correct
for every case, just slower.

A body is encoded once for everyone who gets the same text (see ``Part``); only the lines
that hold something of the recipient's own, such as a link with their token, are encoded
for each message.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from email import policy
from email.header import Header
from functools import lru_cache

MAX_LINE = 78
# 45 bytes are 60 base64 characters: with "=?utf-8?b?" and "?=" a word stays within 75.
WORD_BYTES = 45
WORD_OVERHEAD = len("=?utf-8?b??=")
HARD_LIMIT = 900
PROBE = 16  # characters of a prefix every marker shares, to find them all by it
_SPACE = re.compile(r"\s")


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
    return len(value) <= HARD_LIMIT and not _SPACE.search(value)


@dataclass(frozen=True, slots=True)
class Part:
    """One body part, quoted-printable encoded ahead, with holes filled in for each message.

    Quoted-printable works line by line: how a line is encoded depends on nothing outside
    it. So the runs of lines without a hole are encoded once, and a line with a hole is kept
    as text, to be filled and encoded when a message is finished. The bytes are exactly those
    of encoding the whole filled text at once (tests/mail/test_mime.py checks that).
    """

    # Encoded runs of whole lines (bytes), and lines with holes, without their line end, with
    # the (name, marker) of each hole they hold (Line).
    pieces: Pieces
    holes: Mapping[str, str]  # name -> the marker standing for it in the lines

    @classmethod
    def of(
        cls,
        subtype: str,
        chunks: Iterable[str],
        holes: Mapping[str, str],
        encoded: MutableMapping[str, bytes] | None = None,
        lined: MutableMapping[Lined, Pieces] | None = None,
    ) -> Part:
        """The part from its text, given in chunks as a template writes them out.

        With ``encoded``, a chunk of whole lines without a hole, such as a part of a template
        marked ``{% cache %}``, is encoded once and kept there for the next part that has it.
        With ``lined``, the text between such chunks, which holds the holes, is cut into its
        pieces once and kept there (by the text and the holes) for the next part that has it:
        a digest's items each have lines with the person's links, the same in every digest
        that shows the item.
        """
        head = (
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        pieces: list[bytes | Line] = [head]
        run: list[str] = []  # chunks not yet encoded
        at_line_start = True
        probe = _probe(holes)
        named = tuple(holes.items())

        def cut(text: str) -> Pieces:
            if lined is None:
                return _lines(text, holes, probe)
            found = lined.get((text, named))
            if found is None:
                found = lined[text, named] = _lines(text, holes, probe)
            return found

        for chunk in chunks:
            if not chunk:
                continue
            if encoded is not None and at_line_start and chunk.endswith("\n"):
                if run:
                    pieces += cut("".join(run))
                    run = []
                if _holds(chunk, probe, holes):
                    pieces += cut(chunk)
                else:
                    block = encoded.get(chunk)
                    if block is None:
                        block = encoded[chunk] = _encode(chunk.replace("\r\n", "\n"))
                    pieces.append(block)
            else:
                run.append(chunk)
            at_line_start = chunk.endswith("\n")
        rest = "".join(run)
        if rest or len(pieces) == 1:  # an empty text is one empty line
            pieces += cut(rest)
        return cls(tuple(pieces), holes)

    def fill(self, values: Mapping[str, str]) -> bytes:
        """The part with each hole given its value: a non-empty text on one line."""
        return b"".join(
            piece
            if isinstance(piece, bytes)
            else binascii.b2a_qp(_filled(piece, values).encode("utf-8"), istext=True)
            for piece in self.pieces
        )


# Lines with holes (one, or several in a row), each ended by CRLF as the encoding wants them,
# and the (name, marker) of each hole in them, in the order they are filled in: a digest's
# item has a line or two with the person's links.
Line = tuple[str, tuple[tuple[str, str], ...]]


def _filled(piece: Line, values: Mapping[str, str]) -> str:
    line, holes = piece
    for name, marker in holes:
        line = line.replace(marker, values[name])
    return line


Pieces = tuple[bytes | Line, ...]  # see Part.pieces
Lined = tuple[str, tuple[tuple[str, str], ...]]  # a text and the holes it was cut for


def _probe(holes: Mapping[str, str]) -> str | None:
    """What every marker begins with, if that is long enough to find them all by: the
    Composer's markers share a random prefix, and the lines holding any of a draft's many
    holes are then found by one pattern, compiled once, rather than one per set of holes."""
    if not holes:
        return None
    prefix = next(iter(holes.values()))[:PROBE]
    if len(prefix) == PROBE and all(marker.startswith(prefix) for marker in holes.values()):
        return prefix
    return None


def _holds(text: str, probe: str | None, holes: Mapping[str, str]) -> bool:
    if probe is not None:
        return probe in text
    return any(marker in text for marker in holes.values())


def _lines(text: str, holes: Mapping[str, str], probe: str | None) -> Pieces:
    """Pieces of the lines of ``text`` (the last one ended too, if it is not): runs without a
    hole encoded, and the lines with one as text, those next to each other as one piece
    (encoded in one go when the part is filled: quoted-printable works line by line)."""
    text = text.replace("\r\n", "\n").removesuffix("\n")
    pieces: list[bytes | Line] = []
    start = 0  # of the first line not yet in a piece
    markers = (probe,) if probe is not None else tuple(holes.values())
    for line in _lines_holding(markers).finditer(text) if holes else ():
        found = line.group()
        if line.start() > start:
            pieces.append(_encode(text[start : line.start()]))
        elif pieces and not isinstance(pieces[-1], bytes):  # right after lines with holes
            found = f"{pieces.pop()[0]}\n{found}"
        # The holes in the order they are filled in, which the whole text is filled in too.
        pieces.append((found, tuple((n, m) for n, m in holes.items() if m in found)))
        start = line.end() + 1
    if start <= len(text):  # the lines after the last hole; also "" is one empty line
        pieces.append(_encode(text[start:] + "\n"))
    return tuple(
        piece if isinstance(piece, bytes) else (piece[0].replace("\n", "\r\n") + "\r\n", piece[1])
        for piece in pieces
    )


@lru_cache(maxsize=64)
def _lines_holding(markers: tuple[str, ...]) -> re.Pattern[str]:
    """Matches each whole line in which any of ``markers`` occurs."""
    return re.compile(f"^.*(?:{'|'.join(map(re.escape, markers))}).*$", re.MULTILINE)


def _encode(lines: str) -> bytes:
    """Lines, each ending in a line feed, quoted-printable in UTF-8 with CRLF line ends."""
    return binascii.b2a_qp(lines.replace("\n", "\r\n").encode("utf-8"), istext=True)


def assemble(headers: Iterable[bytes], text: bytes, html: bytes) -> bytes:
    """A multipart/alternative message of two filled parts: the text first, then the HTML."""
    # Quoted-printable writes every "=" as "=3D", so "=_" can never occur in a body: the
    # boundary needs no secret randomness (and os.urandom is a system call a message).
    boundary = f"=_{random.getrandbits(96):024x}"
    head = b"".join(headers) + (
        f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
    ).encode("ascii")
    # The line break before a delimiter belongs to the delimiter, not to the part above it.
    separator = f"\r\n--{boundary}\r\n".encode("ascii")
    closing = f"\r\n--{boundary}--\r\n".encode("ascii")
    return b"".join([head, separator[2:], text, separator, html, closing])
