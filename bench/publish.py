"""Publishing speed: create + publish through ``learnhub serve`` against a bare aiohttp handler.

Usage: python bench/publish.py [--database-url URL] [-n 1000] [--clients 20] [--auto-tag]

Starts ``learnhub serve`` in a subprocess (after ``db upgrade`` and ``staff add`` for a token),
then 20 concurrent clients each create a brief and publish it (two POSTs per brief) until N
briefs are published. The raw limit, in the same run: a bare aiohttp server in another
process that answers the same two POSTs with the bytes of a real response, hit by the same
load generator. Briefs carry their tags unless --auto-tag (then the tagger runs on each).
Aim: p95 under 30 ms per request. A PostgreSQL --database-url must name a database that
does not exist: it is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from collections import defaultdict
from typing import Any

import aiohttp
from _common import (
    AGENCIES,
    BOROUGHS,
    HOST,
    THEMES,
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


async def main(url: str | None, n: int, clients: int, auto_tag: bool) -> None:
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
            bare, bare_seconds = await _bare(answer, clients, n)
    print(
        f"database  {database_url.split(':')[0]}; {n} briefs, {clients} clients, "
        f"{2 * n} requests; tags {'by the tagger' if auto_tag else 'given'}"
    )
    rows = []
    for label, load, seconds in [
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
                    f"{len(every) / seconds:.0f}" if kind == "all" else "",
                ]
            )
    table(["", "p50 ms", "p95 ms", "requests/s"], rows)
    print("aim: p95 under 30 ms per request")


async def _one_answer(base: str, token: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(f"{base}/api/v1/briefs", json=body(-1, False)) as response,
    ):
        return await response.read()


async def _bare(answer: bytes, clients: int, n: int) -> tuple[Load, float]:
    spawn = multiprocessing.get_context("spawn")
    port, ready = free_port(), spawn.Event()
    process = spawn.Process(target=bare_server, args=(port, answer, ready), daemon=True)
    process.start()
    try:
        await asyncio.to_thread(ready.wait)
        await wait_for(f"http://{HOST}:{port}/healthz")
        load = Load(f"http://{HOST}:{port}", "-", clients, auto_tag=False)
        await load.run(0, WARM_UP)
        return load, await load.run(WARM_UP, n)
    finally:
        process.terminate()
        process.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("-n", type=int, default=1000, help="briefs created and published")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--auto-tag", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.n, args.clients, args.auto_tag))
