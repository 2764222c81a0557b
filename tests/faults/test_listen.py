"""The LISTEN connection is ended under an instance (pg_terminate_backend, as in a database
restart): it comes back, and another process's publication wakes the instance again."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import select

from service.events.models import Event
from tests.faults.cluster import Cluster, learnhub
from tests.waiting import until

BRIEF = """---
title: "{title}"
source:
  review: Child W
  board: Wirral Safeguarding Children Partnership
  published_on: 2025-06-02
---
Child W was seen by five agencies in the month before the incident.

## Learning points
- Share what you know when you first know it.
"""


async def test_a_terminated_listen_comes_back_and_a_notify_wakes_the_instance(
    cluster: Cluster, tmp_path: Path
) -> None:
    [a] = await cluster.start("a")
    await until(lambda: _listening(cluster, 1), within=10, what="the LISTEN session")
    [before] = await cluster.listening()
    await cluster.terminate(before)
    await until(lambda: _back(cluster, before), within=10, what="a new LISTEN session")
    await until(lambda: a.lines("LISTEN is back"), within=5, what="the log says it is back")
    [lost] = a.lines("lost the LISTEN connection")
    assert " WARNING service.events.listener: " in lost
    assert len(a.lines("LISTEN is back")) == 1

    # Three publications by another process (the command line, as another instance would):
    # each commit's NOTIFY must wake the instance long before its 5-second poll would.
    for n in range(3):
        path = tmp_path / f"brief{n}.md"
        path.write_text(BRIEF.format(title=f"Child W, part {n}"))
        learnhub("briefs", "import", str(path), "--publish", env=cluster.env, cwd=tmp_path)
        await until(partial(_done, cluster, n + 1), within=10, what=f"publication {n} handled")
    for waited in await _waits(cluster):
        assert waited < timedelta(seconds=1.5), waited


async def _listening(cluster: Cluster, count: int) -> bool:
    return len(await cluster.listening()) == count


async def _back(cluster: Cluster, before: int) -> bool:
    return bool(await cluster.listening() - {before})


async def _done(cluster: Cluster, count: int) -> bool:
    return len(await _waits(cluster)) == count


async def _waits(cluster: Cluster) -> list[timedelta]:
    """How long each handled event waited, from its writing to the end of its handling."""
    async with cluster.engine.connect() as connection:
        rows = await connection.execute(
            select(Event.occurred_at, Event.processed_at).where(Event.status == "done")
        )
        return [done - occurred for occurred, done in rows]
