"""Publishing speed: create + publish through ``learnhub serve`` against a bare aiohttp handler.

Usage: python bench/publish.py [--database-url URL] [-n 1000] [--clients 20]
                               [--rate 20 --rate 50] [--seconds 60] [--auto-tag]

Starts ``learnhub serve`` in a subprocess (after ``db upgrade`` and ``staff add`` for a token).

- Open loop (what a publisher feels): requests sent at a fixed rate whatever the answers,
  half of them creating a brief, half publishing a draft made beforehand, for ``--seconds``
  at each ``--rate`` (requests per second). A request's latency counts from the moment it
  was due, so a slow answer is not hidden by the requests it delayed.
- Closed loop (throughput): 20 concurrent clients each create a brief and publish it (two
  POSTs per brief) until N briefs are published.

The raw limit, in the same run: a bare aiohttp server in another process that answers the
same POSTs with the bytes of a real response, under the same loads. Briefs carry their tags
unless --auto-tag (then the tagger runs on each). Aim: p95 under 30 ms per request at 20
requests a second. A PostgreSQL --database-url must name a database that does not exist: it
is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from _common import (
    AGENCIES,
    BOROUGHS,
    HOST,
    SERVED,
    THEMES,
    cpu_seconds,
    free_port,
    learnhub,
    learnhub_env,
    median,
    percentile,
    scratch_database,
    serve,
    table,
    wait_for,
)
from aiohttp import web

from tests.briefs_data import brief_body

WARM_UP = 20


def body(n: int, auto_tag: bool) -> dict[str, Any]:
    tags = {
        "themes": [THEMES[n % 7], THEMES[(n + 3) % 11]],
        "agencies": [AGENCIES[n % len(AGENCIES)]],
        "boroughs": [BOROUGHS[n % len(BOROUGHS)]] if n % 3 else [],
    }
    return brief_body(title=f"Brief {n}: learning from review {n}", **({} if auto_tag else tags))


# The raw limit: the least an aiohttp server does for a POST with a JSON body.


def bare_server(port: int, answer: bytes, ready: Any) -> None:
    async def post(request: web.Request) -> web.Response:
        await request.json()
        return web.Response(body=answer, status=201, content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/v1/briefs", post)
    app.router.add_post("/api/v1/briefs/{id}/publish", post)
    app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
    ready.set()
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


class Load:
    """``clients`` concurrent clients, each creating then publishing one brief at a time."""

    def __init__(self, base: str, token: str, clients: int, auto_tag: bool) -> None:
        self.base, self.clients, self.auto_tag = base, clients, auto_tag
        self.headers = {"Authorization": f"Bearer {token}"}
        self.latency: dict[str, list[float]] = defaultdict(list)

    async def run(self, first: int, count: int) -> float:
        self.latency.clear()
        numbers = iter(range(first, first + count))
        connector = aiohttp.TCPConnector(limit=self.clients)
        async with aiohttp.ClientSession(headers=self.headers, connector=connector) as http:
            start = time.perf_counter()
            await asyncio.gather(*(self._client(http, numbers) for _ in range(self.clients)))
            return time.perf_counter() - start

    async def _client(self, http: aiohttp.ClientSession, numbers: Any) -> None:
        for n in numbers:
            created = await self._post(http, "create", "/api/v1/briefs", body(n, self.auto_tag))
            path = f"/api/v1/briefs/{created['id']}/publish"
            await self._post(http, "publish", path, {"note": None})

    async def _post(
        self, http: aiohttp.ClientSession, kind: str, path: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        start = time.perf_counter()
        async with http.post(self.base + path, json=data) as response:
            answer = await response.json()
            if response.status >= 300:
                raise SystemExit(f"{path}: {response.status} {answer}")
        self.latency[kind].append(time.perf_counter() - start)
        return answer  # type: ignore[no-any-return]


class OpenLoop:
    """Requests at a fixed rate: even ones create a brief, odd ones publish a draft."""

    def __init__(self, base: str, token: str, auto_tag: bool) -> None:
        self.base, self.auto_tag = base, auto_tag
        self.headers = {"Authorization": f"Bearer {token}"}
        self.drafts: list[str] = []
        self.late: list[float] = []  # how late each request left (the generator's own lag)

    async def make_drafts(self, count: int, clients: int) -> None:
        """Drafts for the publishing half, made beforehand (closed loop, not measured)."""
        numbers = iter(range(-count, 0))
        async with aiohttp.ClientSession(headers=self.headers) as http:

            async def client() -> None:
                for n in numbers:
                    async with http.post(
                        f"{self.base}/api/v1/briefs", json=body(n, self.auto_tag)
                    ) as response:
                        self.drafts.append((await response.json())["id"])

            await asyncio.gather(*(client() for _ in range(clients)))

    async def run(self, rate: float, seconds: float) -> dict[str, list[float]]:
        latency: dict[str, list[float]] = defaultdict(list)
        self.late.clear()
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(limit=0)  # never queue in the client
        async with aiohttp.ClientSession(headers=self.headers, connector=connector) as http:
            # One connection opened first, as a publisher's browser would have.
            async with http.get(f"{self.base}/healthz") as response:
                await response.read()
            start, tasks = loop.time() + 0.05, []
            for i in range(int(rate * seconds)):
                due = start + i / rate
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                self.late.append(loop.time() - due)
                if i % 2 == 0:
                    kind, path, data = "create", "/api/v1/briefs", body(i, self.auto_tag)
                else:
                    brief = self.drafts.pop() if self.drafts else "missing"
                    kind, path, data = "publish", f"/api/v1/briefs/{brief}/publish", {"note": None}
                tasks.append(asyncio.create_task(self._post(http, path, data)))
                tasks[-1].add_done_callback(
                    lambda t, kind=kind, due=due: latency[kind].append(t.result() - due)
                )
            await asyncio.gather(*tasks)
        return latency

    async def _post(self, http: aiohttp.ClientSession, path: str, data: dict[str, Any]) -> float:
        loop = asyncio.get_running_loop()
        async with http.post(self.base + path, json=data) as response:
            answer = await response.read()
            if response.status >= 300:
                raise SystemExit(f"{path}: {response.status} {answer[:300]!r}")
        return loop.time()


async def main(
    url: str | None, n: int, clients: int, rates: list[float], seconds: float, auto_tag: bool
) -> None:
    opened: dict[float, tuple[dict[str, list[float]], dict[str, list[float]]]] = {}
    cpu: dict[float, float] = {}  # the server's CPU seconds a request, background work included
    async with scratch_database(url) as database_url:
        with tempfile.TemporaryDirectory(prefix="learnhub-bench-") as tmp:
            env = learnhub_env(database_url, tmp)
            await asyncio.to_thread(learnhub, env, "db", "upgrade")
            token = await asyncio.to_thread(
                learnhub, env, "staff", "add", "bench@example.org", "--role", "publisher"
            )
            async with serve(env) as base:
                real = Load(base, token, clients, auto_tag)
                await real.run(0, WARM_UP)
                answer = await _one_answer(base, token)
                real_seconds = await real.run(WARM_UP, n)
                ours = OpenLoop(base, token, auto_tag)
                for rate in rates:
                    await ours.make_drafts(int(rate * seconds) // 2 + 1, clients)
                    before = cpu_seconds(SERVED[base])
                    opened[rate] = (await ours.run(rate, seconds), {})
                    cpu[rate] = (cpu_seconds(SERVED[base]) - before) / int(rate * seconds)
            async with _bare_server(answer) as bare_base:
                bare, bare_seconds = await _bare(bare_base, clients, n)
                theirs = OpenLoop(bare_base, "-", auto_tag=False)
                for rate in rates:
                    opened[rate][1].update(await theirs.run(rate, seconds))
    print(
        f"database  {database_url.split(':')[0]}; tags {'by the tagger' if auto_tag else 'given'}; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    rows = []
    for rate, (real_latency, bare_latency) in opened.items():
        for label, latency in [("learnhub serve", real_latency), ("bare aiohttp", bare_latency)]:
            every = [t for times in latency.values() for t in times]
            for kind, times in [*sorted(latency.items()), ("all", every)]:
                rows.append(
                    [
                        f"{rate:g}/s for {seconds:g} s, {label}: {kind}",
                        f"{median(times) * 1000:.1f}",
                        f"{percentile(times, 0.95) * 1000:.1f}",
                        f"{percentile(times, 0.99) * 1000:.1f}",
                        f"{max(times) * 1000:.1f}",
                    ]
                )
    if rows:
        print("open loop: latency from the moment each request was due")
        for rate, seconds_each in cpu.items():
            print(
                f"  at {rate:g}/s learnhub serve used {seconds_each * 1000:.1f} ms of CPU a "
                "request (its threads, the event handling and workers included)"
            )
        table(["", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows)
    print(f"closed loop: {n} briefs, {clients} clients, {2 * n} requests")
    rows = []
    for label, load, took in [
        ("learnhub serve", real, real_seconds),
        ("bare aiohttp", bare, bare_seconds),
    ]:
        every = [t for times in load.latency.values() for t in times]
        for kind, times in [*load.latency.items(), ("all", every)]:
            rows.append(
                [
                    f"{label}: {kind}",
                    f"{median(times) * 1000:.1f}",
                    f"{percentile(times, 0.95) * 1000:.1f}",
                    f"{len(every) / took:.0f}" if kind == "all" else "",
                ]
            )
    table(["", "p50 ms", "p95 ms", "requests/s"], rows)
    print("aim: p95 under 30 ms per request at 20 requests a second")


async def _one_answer(base: str, token: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(f"{base}/api/v1/briefs", json=body(-1, False)) as response,
    ):
        return await response.read()


@contextlib.asynccontextmanager
async def _bare_server(answer: bytes) -> AsyncIterator[str]:
    spawn = multiprocessing.get_context("spawn")
    port, ready = free_port(), spawn.Event()
    process = spawn.Process(target=bare_server, args=(port, answer, ready), daemon=True)
    process.start()
    try:
        await asyncio.to_thread(ready.wait)
        await wait_for(f"http://{HOST}:{port}/healthz")
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.join()


async def _bare(base: str, clients: int, n: int) -> tuple[Load, float]:
    load = Load(base, "-", clients, auto_tag=False)
    await load.run(0, WARM_UP)
    return load, await load.run(WARM_UP, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("-n", type=int, default=1000, help="briefs created and published")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        help="open-loop requests per second (repeatable; default 20 and 50; 0 skips)",
    )
    parser.add_argument("--seconds", type=float, default=60, help="of each open-loop rate")
    parser.add_argument("--auto-tag", action="store_true")
    args = parser.parse_args()
    rates = [r for r in (args.rate or [20, 50]) if r > 0]
    asyncio.run(main(args.database_url, args.n, args.clients, rates, args.seconds, args.auto_tag))
