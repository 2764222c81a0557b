"""The busiest instance is killed (SIGKILL) while it sends a publication: nothing is lost,
what is sent twice is within decision 0002's bound, and all of it is out within 60 s."""

from __future__ import annotations

import asyncio
import os

from service.mail.worker import MailWorker
from tests.faults.cluster import Cluster
from tests.waiting import until

READERS = 500
# What a killed worker can send twice: the messages on the wire (one a connection) and the
# outcomes not yet written (the lanes stop at twice a quarter of a batch).
CONNECTIONS = 4
BOUND = 2 * max(CONNECTIONS, 200 // 4) + CONNECTIONS


async def test_a_killed_instances_mail_is_sent_by_the_others_within_a_minute(
    cluster: Cluster,
) -> None:
    assert MailWorker.__init__.__kwdefaults__["batch_size"] == 200  # the bound's batch
    readers = await cluster.subscribers(READERS)
    cluster.sink.data_delay = 0.1  # 250 ms a message's round: mid-delivery lasts a while
    instances = await cluster.start("a", "b", "c")
    await cluster.publish(instances[0], "Sent through a crash")
    await until(lambda: len(cluster.delivered()) >= 100, within=30, what="delivery under way")

    busiest = max(instances, key=lambda i: cluster.senders()[i.envelope])
    busiest.kill()
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    held = await cluster.sending()  # the rows under lease now: the dead one's among them
    assert held, "killed after delivery, not during it"

    recovery = await until(
        lambda: len(cluster.delivered()) == READERS, within=60, what="all delivered after a kill"
    )
    await until(lambda: cluster.all_sent(READERS), within=10, what="all recorded as sent")
    delivered = cluster.delivered()
    duplicates = {r for r, n in delivered.items() if n > 1}
    print(
        f"\nkilled {busiest.name} holding {len(held)} messages; all delivered "
        f"{recovery:.1f} s after the kill; {len(duplicates)} sent twice"
    )
    assert set(delivered) == set(readers)  # none lost
    assert duplicates <= held  # only what was held when it died
    assert len(duplicates) <= BOUND and max(delivered.values()) <= 2
    assert loop.time() - killed_at < 60
    await until(lambda: _gone(busiest.process.pid), within=10, what="its fan-out helper exits")


def _gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False
