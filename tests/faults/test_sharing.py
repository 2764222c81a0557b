"""Three instances share one publication to 500 people: each gets it once, none is missed."""

from __future__ import annotations

from tests.faults.cluster import Cluster
from tests.waiting import until

READERS = 500


async def test_three_instances_share_a_publication_and_send_each_alert_once(
    cluster: Cluster,
) -> None:
    readers = await cluster.subscribers(READERS)
    # A relay that takes a quarter of a second over each message, four connections an
    # instance: the publication's first instance holds two batches for longer than the
    # others' poll interval (5 s), so another one claims the rest.
    cluster.sink.data_delay = 0.25
    a, _b, _c = await cluster.start("a", "b", "c")
    await cluster.publish(a, "Shared by three")

    await until(lambda: len(cluster.delivered()) == READERS, within=90, what="all delivered")
    await until(lambda: cluster.all_sent(READERS), within=10, what="all recorded as sent")
    delivered = cluster.delivered()
    assert set(delivered) == set(readers)  # none lost
    assert set(delivered.values()) == {1}  # none twice
    assert len(cluster.senders()) >= 2, cluster.senders()  # shared, not sent by one
