"""The relay is down when a publication goes out, then back: every alert is delivered once,
and each instance's log says when sending started failing and when it worked again."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from service.mail.models import MailMessage
from tests.faults.cluster import Cluster
from tests.waiting import until

READERS = 200


async def test_an_smtp_outage_delays_a_publication_and_loses_and_repeats_nothing(
    cluster: Cluster,
) -> None:
    readers = await cluster.subscribers(READERS)
    instances = await cluster.start("a", "b")
    cluster.sink.stop()
    await cluster.publish(instances[0], "Sent through an outage")
    await until(lambda: _all_deferred(cluster), within=30, what="every alert tried and deferred")
    started = [i for i in instances if i.lines("sending is failing")]
    assert started, "no instance said that sending was failing"
    assert cluster.delivered() == {}

    cluster.sink.start()
    # The first retry comes 30 s (± 20 %) after the first failure.
    await until(lambda: len(cluster.delivered()) == READERS, within=60, what="all delivered")
    await until(lambda: cluster.all_sent(READERS), within=10, what="all recorded as sent")
    delivered = cluster.delivered()
    assert set(delivered) == set(readers) and set(delivered.values()) == {1}

    await until(
        lambda: all(i.lines("sending works again") for i in started),
        within=10,
        what="each instance says the outage ended",
    )
    deferred = 0
    for instance in instances:
        [start] = instance.lines("sending is failing") or [None]
        if start is None:
            assert instance.lines("sending works again") == []
            continue
        assert " WARNING service.mail.worker: " in start and "cannot connect" in start
        [end] = instance.lines("sending works again")
        assert " INFO service.mail.worker: " in end
        found = re.search(r"(\d+) messages were deferred during the outage", end)
        assert found is not None, end
        deferred += int(found.group(1))
    assert deferred >= READERS  # each alert deferred once at least, by one instance or both


async def _all_deferred(cluster: Cluster) -> bool:
    async with cluster.engine.connect() as connection:
        tried = await connection.scalar(
            select(func.count()).where(MailMessage.status == "pending", MailMessage.attempts > 0)
        )
    return tried == READERS
