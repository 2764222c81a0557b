"""Bounces and complaints that come back after the relay accepted a message: each message's
own envelope sender (VERP) on a real SMTP server, real DSNs and abuse reports read back,
three hard bounces in a row suspending an address however late each came."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail import bounces, reports
from service.mail.bounces import Recorded
from service.mail.compose import Composer
from service.mail.models import MailBounce, MailMessage
from service.mail.senders import SmtpSender
from service.mail.verp import ReturnPath
from tests.conftest import Clock
from tests.mail.conftest import MakeWorker
from tests.mail.helpers import mail, messages, queue, suppression
from tests.mail.reports import arf, exim_bounce, postfix_dsn
from tests.smtp import SmtpServer

RETURN_PATH = ReturnPath("bounces@learnhub.example", "test-secret-key")
READER = "reader@nhs.net"


async def _sent(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    make_worker: MakeWorker,
    smtp_sender: SmtpSender,
    *numbers: int,
    recipient: str = READER,
) -> list[MailMessage]:
    """Messages queued and accepted by the relay, each with its own envelope sender."""
    await queue(sessions, composer, clock(), [mail(n, recipient=recipient) for n in numbers])
    worker = make_worker(smtp_sender, return_path=RETURN_PATH.address)
    await worker.run_once()
    return [m for m in await messages(sessions) if m.status == "sent"]


async def _ingest(
    sessions: async_sessionmaker[AsyncSession], raw: bytes, now: datetime
) -> Recorded:
    async with sessions.begin() as session:
        return await bounces.record(session, reports.read(raw, RETURN_PATH), now=now)


async def _bounces(sessions: async_sessionmaker[AsyncSession]) -> list[MailBounce]:
    async with sessions() as session:
        return list(await session.scalars(select(MailBounce).order_by(MailBounce.id)))


async def test_each_message_leaves_with_its_own_envelope_sender(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    sent = await _sent(sessions, composer, clock, make_worker, smtp_sender, 1, 2)
    assert len(smtp_server.messages) == 2
    senders = {r.sender for r in smtp_server.messages}
    assert senders == {RETURN_PATH.address(m.id) for m in sent}
    for envelope in senders:
        assert envelope.startswith("bounces+m") and envelope.endswith("@learnhub.example")
        assert RETURN_PATH.message_id(envelope) in {m.id for m in sent}
    # A token made up, or another service's, names nothing.
    one = next(iter(senders))
    assert RETURN_PATH.message_id(one.replace("bounces+m", "bounces+m9")) is None
    assert ReturnPath("bounces@learnhub.example", "another key").message_id(one) is None


async def test_a_postfix_dsn_is_a_hard_bounce_of_the_message_its_envelope_names(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    [message] = await _sent(sessions, composer, clock, make_worker, smtp_sender, 1)
    received = smtp_server.messages[0]
    # Forwarded on by the reader's organisation: the DSN names another address, and the
    # envelope sender still says whose message it was.
    raw = postfix_dsn(
        "reader.forwarded@nhs-mail.example",
        envelope_to=received.sender,
        original=received.content,
    )
    done = await _ingest(sessions, raw, clock())
    assert (done.hard, done.suspended) == ([READER], [])
    [bounce] = await _bounces(sessions)
    assert (bounce.message_id, bounce.email, bounce.kind) == (message.id, READER, "hard")
    assert "5.1.1" in bounce.reason and "User unknown" in bounce.reason
    state = await suppression(sessions, READER)
    assert state is not None and (state.consecutive_failures, state.suspended_at) == (1, None)
    # The same report again (a Maildir read twice, the MTA's pipe tried again) counts once.
    again = await _ingest(sessions, raw, clock())
    assert (again.hard, again.repeated) == ([], 1)
    assert len(await _bounces(sessions)) == 1


async def test_three_hard_bounces_in_a_row_suspend_though_the_relay_accepted_each(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    sent = await _sent(sessions, composer, clock, make_worker, smtp_sender, 1, 2, 3, 4)
    first, second, third, fourth = sorted(sent, key=lambda m: m.id)
    # The relay accepted all four (each acceptance resets the SMTP count); the bounces of the
    # first, third and fourth come back, out of order: the second went through.
    for message in (fourth, first, third):
        await _ingest(
            sessions, postfix_dsn(READER, envelope_to=RETURN_PATH.address(message.id)), clock()
        )
    state = await suppression(sessions, READER)
    assert state is not None and (state.consecutive_failures, state.suspended_at) == (2, None)
    # The second's bounce comes last: four in a row now.
    done = await _ingest(
        sessions, postfix_dsn(READER, envelope_to=RETURN_PATH.address(second.id)), clock()
    )
    assert done.suspended == [READER]
    state = await suppression(sessions, READER)
    assert state is not None and state.consecutive_failures == 4
    assert state.suspended_at == clock()
    assert "5.1.1" in (state.last_error or "")


async def test_a_relay_refusal_and_late_bounces_make_one_run(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    smtp_server.answer_rcpt("550 5.1.1 no such mailbox")  # the first refused at once
    await _sent(sessions, composer, clock, make_worker, smtp_sender, 1)
    sent = await _sent(sessions, composer, clock, make_worker, smtp_sender, 2, 3)
    for message in sent:
        await _ingest(
            sessions, postfix_dsn(READER, envelope_to=RETURN_PATH.address(message.id)), clock()
        )
    state = await suppression(sessions, READER)
    assert state is not None and state.suspended_at is not None
    kinds = [(b.report.split(":")[0], b.kind) for b in await _bounces(sessions)]
    assert kinds == [("smtp", "hard"), ("id", "hard"), ("id", "hard")]


async def test_delays_and_full_mailboxes_are_soft_and_count_for_nothing(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    sent = await _sent(sessions, composer, clock, make_worker, smtp_sender, 1, 2, 3)
    delayed = postfix_dsn(
        READER,
        envelope_to=RETURN_PATH.address(sent[0].id),
        action="delayed",
        status="4.4.1",
        diagnostic="connect to mail.nhs.example[192.0.2.25]:25: Connection timed out",
    )
    given_up = postfix_dsn(
        READER,
        envelope_to=RETURN_PATH.address(sent[1].id),
        status="4.2.2",
        diagnostic="452 4.2.2 Mailbox full",
    )
    for raw in (delayed, given_up):
        done = await _ingest(sessions, raw, clock())
        assert (done.soft, done.hard) == ([READER], [])
    assert [b.kind for b in await _bounces(sessions)] == ["soft", "soft"]
    assert await suppression(sessions, READER) is None


async def test_an_exim_bounce_without_a_dsn_and_without_verp(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    recipient = "head@school.example"
    [message] = await _sent(
        sessions, composer, clock, make_worker, smtp_sender, 1, recipient=recipient
    )
    # Sent back to the From address (no VERP): the address names the message, its latest.
    done = await _ingest(
        sessions, exim_bounce(recipient, envelope_to="learning@localhost"), clock()
    )
    assert done.hard == [recipient]
    [bounce] = await _bounces(sessions)
    assert bounce.message_id == message.id
    # A bounce about an address we never wrote to is left out.
    stray = await _ingest(
        sessions, exim_bounce("nobody@school.example", envelope_to="learning@localhost"), clock()
    )
    assert (stray.hard, stray.unmatched) == ([], 1)


async def test_complaints_and_what_is_not_one(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    first, second = await _sent(sessions, composer, clock, make_worker, smtp_sender, 1, 2)
    yahoo = arf(original_mail_from=RETURN_PATH.address(first.id), recipient=READER)
    assert (await _ingest(sessions, yahoo, clock())).complaints == [READER]
    # Microsoft's reports leave the recipient out: the envelope sender names the message.
    microsoft = arf(
        original_mail_from=RETURN_PATH.address(second.id),
        recipient=READER,
        redacted=True,
        agent="Microsoft JMRP",
    )
    assert (await _ingest(sessions, microsoft, clock())).complaints == [READER]
    not_spam = arf(
        original_mail_from=RETURN_PATH.address(first.id), recipient=READER, feedback_type="not-spam"
    )
    assert (await _ingest(sessions, not_spam, clock())).not_understood == 1
    assert (
        await _ingest(sessions, b"From: a@b.example\nSubject: hello\n\nhi\n", clock())
    ).not_understood == 1
    found = await _bounces(sessions)
    assert [(b.kind, b.message_id) for b in found] == [
        ("complaint", first.id),
        ("complaint", second.id),
    ]
    assert "Yahoo" in found[0].reason and "Microsoft" in found[1].reason
    assert await suppression(sessions, READER) is None  # a complaint is not a bounce


def _mixed(sent: list[MailMessage]) -> list[bytes]:
    """A mix of reports about one reader's five messages, as a Maildir may hold them: hard
    bounces out of order, one report twice, a delay, a complaint, a bounce without VERP,
    and something that is neither."""
    first, second, third, fourth, fifth = sorted(sent, key=lambda m: m.id)
    reader = first.recipient

    def to(message: MailMessage) -> str:
        return RETURN_PATH.address(message.id)

    third_bounced = postfix_dsn(reader, envelope_to=to(third))
    return [
        postfix_dsn(reader, envelope_to=to(first)),
        third_bounced,
        third_bounced,  # read twice: counted once
        postfix_dsn(reader, envelope_to=to(second), action="delayed", status="4.4.1"),
        postfix_dsn(reader, envelope_to=to(second)),  # the first three in a row: suspended
        postfix_dsn(reader, envelope_to=to(fifth), diagnostic="550 5.2.1 Mailbox disabled"),
        arf(original_mail_from=to(fourth), recipient=reader),
        exim_bounce(reader, envelope_to="learning@localhost"),  # no VERP: the latest, fifth
        b"From: a@b.example\nSubject: hello\n\nhi\n",
    ]


async def test_a_batch_records_what_one_report_at_a_time_would(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    other = "other@nhs.net"
    await _sent(sessions, composer, clock, make_worker, smtp_sender, 1, 2, 3, 4, 5)
    await _sent(
        sessions, composer, clock, make_worker, smtp_sender, 6, 7, 8, 9, 10, recipient=other
    )
    sent = [m for m in await messages(sessions) if m.status == "sent"]
    mine = [m for m in sent if m.recipient == READER]
    theirs = [m for m in sent if m.recipient == other]
    # The reader's reports in one batch, one transaction; the other's one at a time.
    async with sessions.begin() as session:
        batch = await bounces.record_many(
            session, [reports.read(raw, RETURN_PATH) for raw in _mixed(mine)], now=clock()
        )
    singles = Recorded()
    for raw in _mixed(theirs):
        singles.add(await _ingest(sessions, raw, clock()))

    assert batch == Recorded(
        hard=[READER] * 5,
        soft=[READER],
        complaints=[READER],
        suspended=[READER],
        repeated=1,
        not_understood=1,
    )
    assert singles == Recorded(
        hard=[other] * 5,
        soft=[other],
        complaints=[other],
        suspended=[other],
        repeated=1,
        not_understood=1,
    )
    mine_state, their_state = (
        await suppression(sessions, READER),
        await suppression(sessions, other),
    )
    assert mine_state is not None and their_state is not None
    assert (mine_state.consecutive_failures, mine_state.suspended_at) == (3, clock())
    assert mine_state.last_error == "failed for good"  # the last hard bounce's, Exim's
    assert (
        their_state.consecutive_failures,
        their_state.suspended_at,
        their_state.last_error,
    ) == (mine_state.consecutive_failures, mine_state.suspended_at, mine_state.last_error)

    def rows(found: list[MailBounce], messages: list[MailMessage]) -> list[tuple[object, ...]]:
        position = {m.id: n for n, m in enumerate(sorted(messages, key=lambda m: m.id))}
        return sorted(
            (position[b.message_id], b.kind, b.reason.replace(b.email, "…"))  # type: ignore[index]
            for b in found
        )

    found = await _bounces(sessions)
    assert rows([b for b in found if b.email == READER], mine) == rows(
        [b for b in found if b.email == other], theirs
    )
    assert len([b for b in found if b.email == READER]) == 7


async def test_a_run_counted_in_a_batch_as_one_report_at_a_time_counts_it(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    """Seven of the reader's messages bounce, in order: one at a time, each bounce counts the
    run up to it (three before it at most), so the count stays at three; a batch counts the
    same, not the run of seven it sees at the end."""
    sent = await _sent(sessions, composer, clock, make_worker, smtp_sender, *range(1, 8))
    raws = [
        postfix_dsn(READER, envelope_to=RETURN_PATH.address(m.id))
        for m in sorted(sent, key=lambda m: m.id)
    ]
    async with sessions.begin() as session:
        done = await bounces.record_many(
            session, [reports.read(raw, RETURN_PATH) for raw in raws], now=clock()
        )
    assert (done.hard, done.suspended) == ([READER] * 7, [READER])
    state = await suppression(sessions, READER)
    assert state is not None and state.consecutive_failures == 3


async def test_a_batch_after_a_lifted_suspension_counts_as_one_report_at_a_time(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    """A late bounce for a message sent before the suspension was lifted counts the run of
    the messages after the lift that follows it; in a batch as one at a time."""
    other = "other@nhs.net"
    before = {READER: [1, 2, 3], other: [11, 12, 13]}
    after = {READER: [4, 5, 6], other: [14, 15, 16]}
    for email, numbers in before.items():
        await _sent(sessions, composer, clock, make_worker, smtp_sender, *numbers, recipient=email)
    for message in await messages(sessions):
        await _ingest(
            sessions,
            postfix_dsn(message.recipient, envelope_to=RETURN_PATH.address(message.id)),
            clock(),
        )
    async with sessions.begin() as session:
        for email in before:
            assert await bounces.lift(session, email, now=clock()) is not None
    clock.advance(minutes=5)
    for email, numbers in after.items():
        await _sent(sessions, composer, clock, make_worker, smtp_sender, *numbers, recipient=email)

    sent_now = await messages(sessions)

    def raws(email: str) -> list[bytes]:
        sent = sorted((m for m in sent_now if m.recipient == email), key=lambda m: m.id)
        first, _, _, fourth, fifth, sixth = sent

        def hard(m: MailMessage) -> bytes:
            return postfix_dsn(email, envelope_to=RETURN_PATH.address(m.id))

        return [hard(fourth), hard(fifth), hard(first), hard(sixth)]

    async with sessions.begin() as session:
        batch = await bounces.record_many(
            session, [reports.read(raw, RETURN_PATH) for raw in raws(READER)], now=clock()
        )
    singles = Recorded()
    for raw in raws(other):
        singles.add(await _ingest(sessions, raw, clock()))
    assert (batch.hard, batch.suspended) == ([READER] * 4, [READER])
    assert (singles.hard, singles.suspended) == ([other] * 4, [other])
    mine, theirs = await suppression(sessions, READER), await suppression(sessions, other)
    assert mine is not None and theirs is not None
    assert (mine.consecutive_failures, mine.suspended_at) == (3, clock())
    assert (theirs.consecutive_failures, theirs.suspended_at) == (3, clock())


# A From header in raw 8-bit bytes: flufl.bounce's Sina detector calls .lower() on what the
# email package gives it for such a header (a Header object) and raises.
UNREADABLE = b"From: \xff\xfe <postmaster@mx.example>\nSubject: Undeliverable\n\nhello\n"


def test_a_message_the_parsers_cannot_read_is_not_understood() -> None:
    report = reports.read(UNREADABLE, RETURN_PATH)
    assert not report.understood
    assert report.key.startswith("sha256:")
