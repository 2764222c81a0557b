"""Templates by convention, the headers of every message, and no way to inject a header."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from jinja2 import UndefinedError
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer, Draft, UnsafeHeader
from service.mail.service import Drafts, Outgoing, enqueue, enqueue_many
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
        {"unsubscribe_url": "http://learnhub.example/u"},  # plain http off this machine
        {"unsubscribe_url": "http://127.0.0.1.evil.example/u"},
        {"unsubscribe_url": "http://localhost@evil.example/u"},
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


@dataclass(frozen=True)
class HostileBrief:
    """What the alert template reads of a brief, written to break HTML and the encoding."""

    title: str = "<script>alert('x')</script> & \u201cBaby =3D T\u201d =_ \U0001f476"
    source_review: str = "Child <b>Q</b>"
    source_board: str = "Board & partners"
    source_published_on: date | None = None
    summary: str = "Line one & more.\n.\nTrailing space \nA long line " + "= " * 60
    summary_html: str = "<p>Already <em>safe</em> HTML</p>"
    learning_points: tuple[str, ...] = ("Ask <who>.", "Escalate & record.")
    actions: tuple[str, ...] = ("Do <this> & that.",)
    audience: str = "public"


def alert_context(reasons: tuple[str, ...], manage_url: str) -> dict[str, Any]:
    return {
        "brief": HOSTILE,
        "brief_url": "https://learnhub.example/briefs/1?a=1&b=2",
        "briefing_url": "https://learnhub.example/briefs/1/briefing",
        # The summary's lead: in the text part as it is (dots, trailing spaces, long lines).
        "lead_text": HOSTILE.summary,
        "lead_html": HOSTILE.summary_html,
        "change_note": None,
        "back": False,
        "reasons": reasons,
        "manage_url": manage_url,
        "acknowledge_url": "https://learnhub.example/acknowledge/a",
        "discuss_url": "https://learnhub.example/discussions/new/d",
    }


HOSTILE = HostileBrief()
# Three people: the first and the last have the same reasons, so they share one draft; the
# second one's link has characters that HTML must escape (Links makes URL-safe ones).
PEOPLE = [
    (
        "one@example.org",
        ("you follow Neglect <and> abuse",),
        "https://learnhub.example/subscriptions/manage/eyJvbmUiOjF9.aBc-_.sig1",
        "https://learnhub.example/unsubscribe/eyJvbmUiOjF9.aBc-_.uns1",
    ),
    (
        "two@example.org",
        ("you are a member of A & B",),
        "https://learnhub.example/subscriptions/manage/two?x=1&y='2'",
        "https://learnhub.example/unsubscribe/eyJ0d28iOjJ9.xYz.uns2",
    ),
    (
        "three@example.org",
        ("you follow Neglect <and> abuse",),
        "https://learnhub.example/subscriptions/manage/eyJ0aHJlZSI6M30.q.sig3",
        "https://learnhub.example/unsubscribe/eyJ0aHJlZSI6M30.q.uns3",
    ),
]


def readable(message: EmailMessage) -> dict[str, str]:
    """Everything a reader sees, without what differs between any two messages."""
    text, html = message.iter_parts()
    headers = {k: str(v) for k, v in message.items() if k not in ("Message-ID", "Content-Type")}
    return {
        **headers,
        "text": cast(EmailMessage, text).get_content().replace("\r\n", "\n"),
        "html": cast(EmailMessage, html).get_content().replace("\r\n", "\n"),
    }


def test_one_draft_for_everyone_gives_each_their_own_links_and_escapes_as_before(
    composer: Composer,
) -> None:
    """A draft shared by several people reads, for each, exactly as their message rendered
    on its own does: their links, their reasons; brief text escaped in HTML only."""
    names = ("manage_url", "unsubscribe_url")
    drafts = {
        why: composer.prepare("alert", alert_context(why, ""), names) for _, why, *_ in PEOPLE
    }
    assert len(drafts) == 2
    for email, why, manage, unsubscribe in PEOPLE:
        values = {"manage_url": manage, "unsubscribe_url": unsubscribe}
        message = readable(parse(composer.finish(drafts[why], email, values, now=NOW).message))
        alone = compose(
            composer,
            kind="alert",
            recipient=email,
            context=alert_context(why, manage),
            unsubscribe_url=unsubscribe,
        )
        assert message == readable(alone)
        assert message["To"] == email
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert f"pause or unsubscribe: {manage}\n" in message["text"]
        assert f'<a href="{escape(manage)}">Change what you get' in message["html"]
        assert f"Why you got this: {why[0]}." in message["text"]
        assert f"Why you got this: {escape(why[0])}." in message["html"]
        assert "<script>alert('x')</script> & \u201cBaby =3D T\u201d =_" in message["text"]
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;" in message["html"]
        assert "<script>" not in message["html"]
        assert "- Do <this> & that." in message["text"]
        assert "<li>Do &lt;this&gt; &amp; that.</li>" in message["html"]
        for other in PEOPLE:
            if other[0] != email:
                assert other[2] not in message["text"] and other[3] not in str(message)


def test_a_personal_value_must_be_given_and_fit_on_its_line(composer: Composer) -> None:
    personal = {"manage_url": "https://learnhub.example/m/1"}
    draft = composer.prepare("alert", alert_context(("r",), ""), personal)
    with pytest.raises(ValueError, match="needs"):
        composer.finish(draft, "a@example.org", {}, now=NOW)
    with pytest.raises(UnsafeHeader):
        composer.finish(draft, "a@example.org", {"manage_url": "x\r\nBcc: b"}, now=NOW)
    with pytest.raises(ValueError, match="empty"):
        composer.finish(draft, "a@example.org", {"manage_url": ""}, now=NOW)


async def test_queued_alerts_share_renderings_but_not_links_or_reasons(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepared: list[str] = []
    prepare = composer.prepare

    def counting(kind: str, *args: Any) -> Draft:
        prepared.append(kind)
        return prepare(kind, *args)

    monkeypatch.setattr(composer, "prepare", counting)
    reasons = [PEOPLE[0][1], PEOPLE[1][1], PEOPLE[0][1]]
    outgoing = [
        Outgoing(
            kind="alert",
            recipient=f"reader{n}@example.org",
            key=f"alert:{n}",
            context=alert_context(why, f"https://learnhub.example/subscriptions/manage/m{n}"),
            unsubscribe_url=f"https://learnhub.example/unsubscribe/u{n}",
            personal=("manage_url",),
        )
        for n, why in enumerate(reasons)
    ]
    drafts = Drafts()
    async with sessions.begin() as session:
        assert await enqueue_many(session, outgoing[:2], composer=composer, now=NOW, drafts=drafts)
        assert await enqueue_many(session, outgoing[2:], composer=composer, now=NOW, drafts=drafts)

    assert prepared == ["alert", "alert"]  # two sets of reasons, across two calls
    rows = await messages(sessions)
    for n, (row, why) in enumerate(zip(rows, reasons, strict=True)):
        message = readable(parse(row.body or b""))
        assert message["To"] == f"reader{n}@example.org"
        assert message["List-Unsubscribe"] == f"<https://learnhub.example/unsubscribe/u{n}>"
        manage = f"https://learnhub.example/subscriptions/manage/m{n}"
        assert f"pause or unsubscribe: {manage}\n" in message["text"]
        assert f"Why you got this: {why[0]}." in message["text"]
        assert f"Why you got this: {escape(why[0])}." in message["html"]


def test_a_withdrawal_notice_without_a_recorded_title_names_the_date(composer: Composer) -> None:
    """Deliveries from before 0008 kept no title for digests: the notice then says when the
    brief was sent, never the brief's current (perhaps restricted) title."""
    context = {
        "title": "",
        "sent_on": datetime(2026, 11, 2, 7, 30, tzinfo=UTC),
        "withdrawn_on": datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
        "reason": None,
        "manage_url": "https://learnhub.example/subscriptions/manage/x",
    }
    composed = composer.compose("withdrawal", "a@gmail.com", context, now=NOW)
    assert composed.subject == "Withdrawn: a learning brief we sent you"
    message = message_from_bytes(composed.message, policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "We sent you a learning brief on 2 November 2026. On 4 December 2026" in text
