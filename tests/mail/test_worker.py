"""The worker against a real SMTP server: delivery, retries on the test clock, bounces and
suspension, an outage, two workers on one database, and a graceful stop."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import db
from service.mail.compose import Composer
from service.mail.queue import RetryPolicy
from service.mail.senders import SmtpSender
from service.settings import Settings
from tests.conftest import Clock
from tests.mail.conftest import MakeWorker
from tests.mail.helpers import (
    Claims,
    TimedSender,
    mail,
    messages,
    queue,
    suppression,
    until_all_sent,
)
from tests.smtp import SmtpServer
from tests.waiting import until

GONE = "gone@example.org"


async def test_queued_mail_is_delivered_once_with_every_header(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    worker = make_worker(smtp_sender)
    worker.start()
    await queue(sessions, composer, clock(), [mail(1), mail(2)])
    worker.wake()
    received = await smtp_server.received(2)
    await worker.stop()

    parsed = [m.parsed() for m in received]
    assert sorted(m["To"] for m in parsed) == ["reader1@example.org", "reader2@example.org"]
    for message in parsed:
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["List-Unsubscribe"].startswith("<https://learnhub.example/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] and message["Date"] and message["From"]
    assert parsed[0]["Message-ID"] != parsed[1]["Message-ID"]
    rows = await messages(sessions)
    assert [(m.status, m.attempts, m.sent_at) for m in rows] == [("sent", 1, clock())] * 2
    assert len(smtp_server.messages) == 2


async def test_a_running_worker_records_each_outcome_when_the_mail_stops_flowing(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fewer messages than a write's worth: they must still be recorded at once, or their
    # rows would come back when the lease ends and be sent again.
    claims = Claims(monkeypatch)
    worker = make_worker(smtp_sender, batch_size=200)
    worker.start()
    await queue(sessions, composer, clock(), [mail(1), mail(2), mail(3)])
    worker.wake()
    await smtp_server.received(3)
    await until_all_sent(sessions, within=2)

    clock.advance(minutes=6)  # past the lease
    worker.wake()
    await until(lambda: bool(claims.since(clock())), within=5, what="the worker looks again")
    await worker.stop()
    assert claims.since(clock())[0] == []  # nothing came back to be claimed
    assert len(smtp_server.messages) == 3


async def test_a_4xx_is_retried_after_the_backoff_and_delivered_once(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    worker = make_worker(smtp_sender)
    await queue(sessions, composer, clock(), [mail(1)])
    smtp_server.answer_rcpt("451 4.7.1 Greylisted")

    assert await worker.run_once() == 1
    [row] = await messages(sessions)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in (row.last_error or "")
    # 30 s, give or take 20 %.
    assert clock() + timedelta(seconds=24) <= row.next_attempt_at <= clock() + timedelta(seconds=36)

    clock.advance(seconds=20)
    assert await worker.run_once() == 0  # not yet due
    clock.advance(seconds=17)
    assert await worker.run_once() == 1
    [row] = await messages(sessions)
    assert (row.status, row.attempts) == ("sent", 2)
    assert smtp_server.recipients() == ["reader1@example.org"]


async def test_temporary_failures_end_after_the_last_attempt(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    worker = make_worker(smtp_sender, retry=RetryPolicy(max_attempts=3))
    await queue(sessions, composer, clock(), [mail(1)])
    smtp_server.answer_rcpt(*["451 4.7.1 Greylisted"] * 3)
    for _ in range(3):
        assert await worker.run_once() == 1
        clock.advance(hours=2)
    [row] = await messages(sessions)
    assert (row.status, row.attempts) == ("failed", 3)
    assert await worker.run_once() == 0
    assert smtp_server.messages == []


async def test_a_5xx_fails_at_once_and_three_in_a_row_suspend_the_address(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    smtp_server.refuse(GONE)
    worker = make_worker(smtp_sender, batch_size=2)
    await queue(sessions, composer, clock(), [mail(n, recipient=GONE) for n in range(1, 5)])

    assert await worker.run_once() == 2
    first = (await messages(sessions))[0]
    assert (first.status, first.attempts) == ("failed", 1)
    assert "550" in (first.last_error or "")
    state = await suppression(sessions, GONE)
    assert state is not None and (state.consecutive_failures, state.suspended_at) == (2, None)

    smtp_server.accept(GONE)  # a success in between resets the count ...
    await queue(sessions, composer, clock(), [mail(9, recipient=GONE)])
    smtp_server.refuse(GONE)  # ... but it comes after messages 3 and 4: no reset yet
    assert await worker.run_once() == 2
    state = await suppression(sessions, GONE)
    assert state is not None and state.consecutive_failures == 4
    assert state.suspended_at == clock()

    # Message 9 was queued before the suspension: failed without being sent.
    assert await worker.run_once() == 1
    clock.advance(days=1)
    assert await worker.run_once() == 0  # nothing failed is ever retried
    statuses = [(m.status, m.attempts, m.last_error) for m in await messages(sessions)]
    assert statuses[-1] == ("failed", 1, "recipient suspended")
    assert [s for s, *_ in statuses] == ["failed"] * 5
    assert smtp_server.messages == []
    # And nothing more is queued for the address.
    assert await queue(sessions, composer, clock(), [mail(10, recipient=GONE)]) == 0


async def test_a_success_resets_the_count(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    worker = make_worker(smtp_sender)
    smtp_server.refuse(GONE)
    await queue(sessions, composer, clock(), [mail(1, recipient=GONE), mail(2, recipient=GONE)])
    await worker.run_once()
    smtp_server.accept(GONE)
    await queue(sessions, composer, clock(), [mail(3, recipient=GONE)])
    await worker.run_once()
    state = await suppression(sessions, GONE)
    assert state is not None and (state.consecutive_failures, state.suspended_at) == (0, None)
    assert smtp_server.recipients() == [GONE]


async def test_mail_queued_during_an_outage_is_delivered_once_it_ends(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    make_worker: MakeWorker,
) -> None:
    worker = make_worker(smtp_sender)
    await queue(sessions, composer, clock(), [mail(0)])
    await worker.run_once()  # the pool now holds an open connection
    smtp_server.stop()
    await queue(sessions, composer, clock(), [mail(n) for n in range(1, 9)])

    assert await worker.run_once() == 8
    rows = await messages(sessions)
    assert {(m.status, m.attempts) for m in rows[1:]} == {("pending", 1)}
    clock.advance(minutes=1)
    assert await worker.run_once() == 8  # still down: backed off again, for 60 s ± 20 %
    clock.advance(seconds=40)
    assert await worker.run_once() == 0

    smtp_server.start()
    clock.advance(minutes=2)
    assert await worker.run_once() == 8
    assert {m.status for m in await messages(sessions)} == {"sent"}
    assert sorted(smtp_server.recipients()) == sorted(f"reader{n}@example.org" for n in range(9))


async def test_two_workers_on_one_database_send_each_email_once(
    settings: Settings,
    engine: AsyncEngine,
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    make_worker: MakeWorker,
) -> None:
    count = 120
    await queue(db.sessionmaker(engine), composer, clock(), [mail(n) for n in range(count)])
    smtp_server.data_delay = 0.005  # so that the two really overlap
    engines = [db.create_engine(settings.database_url) for _ in range(2)]
    senders = [SmtpSender.from_url(smtp_server.url, concurrency=2) for _ in range(2)]
    workers = [
        make_worker(s, sessions=db.sessionmaker(e), batch_size=10, concurrency=2)
        for s, e in zip(senders, engines, strict=True)
    ]
    for worker in workers:
        worker.start()
    await smtp_server.received(count)
    for worker, sender, engine_ in zip(workers, senders, engines, strict=True):
        await worker.stop()
        await sender.close()
        await engine_.dispose()

    per_recipient = Counter(smtp_server.recipients())
    assert len(per_recipient) == count
    assert set(per_recipient.values()) == {1}
    rows = await messages(db.sessionmaker(engine))
    assert {(m.status, m.attempts) for m in rows} == {("sent", 1)}


async def test_stop_finishes_what_is_in_flight_and_hands_back_the_rest(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    make_worker: MakeWorker,
) -> None:
    smtp_server.data_delay = 0.2
    sender = SmtpSender.from_url(smtp_server.url, concurrency=1)
    worker = make_worker(sender, concurrency=1, batch_size=10)
    await queue(sessions, composer, clock(), [mail(n) for n in range(10)])
    worker.start()
    await smtp_server.received(1)
    await worker.stop()
    await sender.close()

    rows = await messages(sessions)
    sent = [m for m in rows if m.status == "sent"]
    assert len(sent) == len(smtp_server.messages) >= 1
    # The rest are back in the queue untouched, as if never claimed.
    assert {(m.status, m.attempts, m.leased_until) for m in rows if m not in sent} == {
        ("pending", 0, None)
    }


async def test_the_end_of_a_batch_whose_lease_ran_down_is_handed_back(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    make_worker: MakeWorker,
) -> None:
    sender = TimedSender(clock, minutes=3)  # the lease runs down mid-batch
    worker = make_worker(sender, concurrency=1, batch_size=3, lease=timedelta(minutes=5))
    await queue(sessions, composer, clock(), [mail(n) for n in range(3)])
    assert await worker.run_once() == 3
    assert sender.sent == ["reader0@example.org"]
    rows = await messages(sessions)
    assert [(m.status, m.attempts) for m in rows] == [("sent", 1), ("pending", 0), ("pending", 0)]
    assert await worker.run_once() == 2  # claimed again with a fresh lease
    assert len(sender.sent) == 2


async def test_a_send_that_would_outlast_its_lease_is_cut_short_and_tried_again(
    sessions: async_sessionmaker[AsyncSession],
    composer: Composer,
    clock: Clock,
    smtp_server: SmtpServer,
    make_worker: MakeWorker,
) -> None:
    # A server that takes longer to answer than the lease leaves: the outcome could not be
    # written under the lease, and another worker could meanwhile claim and send it too.
    smtp_server.data_delay = 3
    sender = SmtpSender.from_url(smtp_server.url, concurrency=1)
    worker = make_worker(sender, concurrency=1, batch_size=1, lease=timedelta(seconds=2))
    await queue(sessions, composer, clock(), [mail(0)])
    assert await worker.run_once() == 1
    await sender.close()
    [row] = await messages(sessions)
    assert (row.status, row.attempts) == ("pending", 1)  # not "sent" three seconds later
    assert row.last_error == "the send did not end well within its lease"
    assert row.next_attempt_at > clock()  # backed off like any temporary failure
