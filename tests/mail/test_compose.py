"""Templates by convention, the headers of every message, and no way to inject a header."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from jinja2 import UndefinedError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer, UnsafeHeader
from service.mail.service import Outgoing, enqueue
from tests.mail.helpers import mail, messages

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONTEXT = {
    "subject": "Safer sleep",
    "heading": "Baby T",
    "paragraphs": ["<b>Co-sleeping</b> & alcohol"],
}


def parse(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def compose(composer: Composer, **overrides: Any) -> EmailMessage:
    args: dict[str, Any] = {"kind": "test", "recipient": "Reader@Example.ORG", "context": CONTEXT}
    args.update(overrides)
    return parse(composer.compose(**args, now=NOW).message)


def test_the_test_kind_is_found_by_convention(composer: Composer) -> None:
    assert "test" in composer.kinds


def test_multipart_text_then_html_with_every_header(composer: Composer) -> None:
    url = "https://learnhub.example/unsubscribe/abc"
    message = compose(composer, unsubscribe_url=url)

    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert message["From"] == "Learning Hub <learning@localhost>"
    assert message["To"] == "reader@example.org"
    assert message["Subject"] == "Safer sleep"
    assert message["Date"] == "Mon, 23 Nov 2026 09:00:00 +0000"
    assert message["Message-ID"].endswith("@learnhub.example>")
    assert message["List-Id"] == "Merseyside safeguarding learning <learning.learnhub.example>"
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_html_is_escaped_and_text_is_not(composer: Composer) -> None:
    text, html = compose(composer).iter_parts()
    assert "<b>Co-sleeping</b> & alcohol" in cast(EmailMessage, text).get_content()
    body = cast(EmailMessage, html).get_content()
    assert "&lt;b&gt;Co-sleeping&lt;/b&gt; &amp; alcohol" in body
    assert "<h1>Baby T</h1>" in body  # semantic HTML: readable without any CSS


def test_no_unsubscribe_headers_without_a_link(composer: Composer) -> None:
    message = compose(composer)
    assert message["List-Unsubscribe"] is None
    assert message["List-Unsubscribe-Post"] is None


def test_message_ids_are_unique(composer: Composer) -> None:
    ids = {compose(composer)["Message-ID"] for _ in range(50)}
    assert len(ids) == 50


def test_a_missing_variable_is_an_error(composer: Composer) -> None:
    with pytest.raises(UndefinedError):
        compose(composer, context={"subject": "x", "heading": "y"})


def test_an_unknown_kind_is_an_error(composer: Composer) -> None:
    with pytest.raises(LookupError):
        compose(composer, kind="no-such-email")


@pytest.mark.parametrize(
    "overrides",
    [
        {"context": {**CONTEXT, "subject": "Hello\r\nBcc: everyone@example.org"}},
        {"context": {**CONTEXT, "subject": "Hello\nBcc: everyone@example.org"}},
        {"recipient": "reader@example.org\r\nBcc: everyone@example.org"},
        {"recipient": "reader@example.org, everyone@example.org"},
        {"unsubscribe_url": "https://learnhub.example/u\r\nBcc: everyone@example.org"},
        {"unsubscribe_url": "https://learnhub.example/u>, <mailto:x@example.org"},
        {"unsubscribe_url": "javascript:alert(1)"},
    ],
)
def test_header_injection_is_refused(composer: Composer, overrides: dict[str, Any]) -> None:
    with pytest.raises(UnsafeHeader):
        compose(composer, **overrides)


def test_an_unsafe_from_is_refused() -> None:
    with pytest.raises(UnsafeHeader):
        Composer(mail_from="a@example.org\r\nBcc: b@example.org", base_url="https://x.example")


async def test_an_unsafe_email_is_never_queued(
    sessions: async_sessionmaker[AsyncSession], composer: Composer
) -> None:
    bad = Outgoing(
        kind="test",
        recipient="reader@example.org",
        key="bad",
        context={**CONTEXT, "subject": "Hi\r\nBcc: everyone@example.org"},
    )
    with pytest.raises(UnsafeHeader):
        async with sessions.begin() as session:
            await enqueue(session, mail(1), composer=composer, now=NOW)
            await enqueue(session, bad, composer=composer, now=NOW)
    assert await messages(sessions) == []
