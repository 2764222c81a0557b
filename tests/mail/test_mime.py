"""Messages written straight to bytes read back exactly through the stdlib's parser."""

from __future__ import annotations

import binascii
import random
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

import pytest

from service.mail import mime


def parse(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def message(headers: list[bytes], text: str, html: str) -> bytes:
    plain, rich = mime.Part.of("plain", [text], {}), mime.Part.of("html", [html], {})
    return mime.assemble(headers, plain.fill({}), rich.fill({}))


def encoded_whole(content: str) -> bytes:
    """Quoted-printable of a whole text at once, with CRLF line ends: what Part must equal."""
    crlf = content.replace("\r\n", "\n").replace("\n", "\r\n")
    if not crlf.endswith("\r\n"):
        crlf += "\r\n"
    return binascii.b2a_qp(crlf.encode("utf-8"), istext=True)


@pytest.mark.parametrize(
    "subject",
    [
        "Plain",
        "A long plain subject " * 6,
        "Learning \u2013 \u201cquoted\u201d \U0001f476 \u200frtl \u202ex \u00e9" * 3,
        "= ?utf-8?q?x?=",
    ],
)
def test_headers_round_trip_and_stay_within_line_limits(subject: str) -> None:
    raw = message([mime.header("Subject", subject)], "text", "<p>html</p>")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert parse(raw)["Subject"] == subject


def test_a_long_url_is_one_line_and_a_non_ascii_address_is_folded_by_the_stdlib() -> None:
    url = "<https://learnhub.example/unsubscribe/" + "x" * 300 + ">"
    assert mime.header("List-Unsubscribe", url) == f"List-Unsubscribe: {url}\r\n".encode()
    folded = mime.header("To", "José Núñez <jose@example.org>")
    assert folded.startswith(b"To: =?utf-8?") and b"<jose@example.org>" in folded


def test_bodies_survive_quoted_printable_exactly() -> None:
    text = "Line one = 3D\nFrom the start\n.\n" + "long " * 40 + "\n\tTab and 👶\n"
    html = '<p class="x">Café &amp; “quotes”</p>\n'
    raw = message([mime.header("Subject", "s")], text, html)
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    parsed = parse(raw)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, rich = parsed.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == text
    assert rich.get_content().replace("\r\n", "\n") == html


# Lines that quoted-printable treats specially: a lone dot, trailing white space, "=",
# lines longer than 76 (soft breaks, also inside a filled value), bare CRs, non-ASCII.
AWKWARD = [
    "",
    ".",
    ". ",
    "ends in a space ",
    "ends in a tab\t",
    "a = b =3D",
    "x" * 75,
    "y" * 76,
    "z " * 60,
    "bare\rcarriage return",
    "ends in a carriage return\r",
    "Caf\u00e9 \u2013 \u201cquotes\u201d \U0001f476",
    "<p>a paragraph that goes on for quite a while, longer than a line of mail may be</p>",
]


ENCODED: dict[str, bytes] = {}  # shared by the cases, as by the drafts of a job
LINED: dict[mime.Lined, mime.Pieces] = {}  # the same
NONCE = "5e" * 16
FAMILY = [f"acknowledge_url:{n}" for n in range(12)]


@pytest.mark.parametrize("seed", range(300))
def test_a_part_filled_in_is_the_whole_text_encoded_at_once(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311  # reproducible cases, not secrets
    if seed % 2:
        holes = {"manage_url": "@@M@@", "other": "@@O@@"}
    else:  # many holes sharing a prefix, as the Composer makes them (a digest's links)
        holes = {name: f"{NONCE}{name}{NONCE}" for name in ("manage_url", *FAMILY)}
    values = {
        name: rng.choice(["plain", "a b ", ".", "👶=", "\t", "https://x.example/a/" + "t" * 60])
        for name in holes
    }
    values["manage_url"] = rng.choice(["https://x.example/m/" + "t" * rng.randint(1, 90), "="])
    lines = []
    for _ in range(rng.randint(0, 12)):
        line = rng.choice(AWKWARD)
        for _ in range(2):  # up to two holes a line
            if rng.random() < 0.4:
                cut = rng.randint(0, len(line))
                line = line[:cut] + rng.choice(list(holes.values())) + line[cut:]
        if seed % 2 == 0 and rng.random() < 0.1:  # the shared prefix alone is not a hole
            line += NONCE[:20]
        lines.append(line)
    content = rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n\n"])
    filled = content
    for name, marker in holes.items():
        filled = filled.replace(marker, values[name])

    # Cut into chunks as a template writes them, whole lines or not (runs of lines repeat
    # across cases, so some chunks' encodings come from ENCODED).
    cuts = sorted(rng.sample(range(len(content) + 1), min(len(content) + 1, rng.randint(0, 6))))
    cuts += [i + rng.choice([0, 1]) for i, ch in enumerate(content) if ch == "\n"]
    cuts = sorted(set(cuts))
    chunks = [content[i:j] for i, j in zip([0, *cuts], [*cuts, len(content)], strict=True)]
    assert "".join(chunks) == content
    encoded = ENCODED if rng.random() < 0.7 else None
    lined = LINED if rng.random() < 0.7 else None

    part = mime.Part.of("plain", chunks, holes, encoded, lined).fill(values)

    head, body = part.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n") == [
        b'Content-Type: text/plain; charset="utf-8"',
        b"Content-Transfer-Encoding: quoted-printable",
    ]
    assert body == encoded_whole(filled)
