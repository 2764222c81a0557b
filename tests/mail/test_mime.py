"""Messages written straight to bytes read back exactly through the stdlib's parser."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

import pytest

from service.mail import mime


def parse(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


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
    raw = mime.assemble([mime.header("Subject", subject)], "text", "<p>html</p>")
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
    raw = mime.assemble([mime.header("Subject", "s")], text, html)
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == text
    assert rich.get_content().replace("\r\n", "\n") == html
