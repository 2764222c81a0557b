"""Feed serving speed: the real app against a bare aiohttp handler returning the same bytes.

Usage: python bench/feeds.py [--database-url URL] [--seconds 8] [--connections 32] [--briefs 60]
                             [--rounds 3]

Starts ``learnhub serve`` on a fresh database (a temp SQLite file, or ``--database-url``
naming a PostgreSQL database that does not exist yet: created, then dropped), creates and
publishes briefs through the API, then loads ``/feeds/briefs.atom`` (a cached feed) and the
same URL with ``If-None-Match`` (a 304) with wrk, and the same two requests against a bare
aiohttp server in another process that answers the same bytes, without an access log (the
aim: the app, its access log on, at 0.8 of it) and with aiohttp's own (for reference); the
median of three rounds each. Without wrk, a small aiohttp load generator runs in its own
process with a fixed concurrency. It also times an uncached render of a 50-entry feed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The servers below run this module as bench.feeds, in processes of their own: both the
# project and bench/ (for _common) must be importable there too.
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import aiohttp  # noqa: E402
from _common import (  # noqa: E402
    HANDLER_ONLY,
    IDENTITY,
    first_fetch,
    free_port,
    process,
    scratch_database,
    wait_for,
)
from aiohttp import web  # noqa: E402

from tests.briefs_data import brief_body  # noqa: E402

THEMES = ["neglect", "domestic-abuse", "safer-sleep", "exploitation", "non-engagement"]
AGENCIES = ["police", "primary-care", "hospital", "education", "midwifery"]
BOROUGHS = ["knowsley", "liverpool", "sefton", "st-helens", "wirral"]
LEARNHUB = "from learnhub.cli import main; main()"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # as service/cli.py


async def create_briefs(base: str, token: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for n in range(count):
            body = brief_body(
                title=f"Brief {n}: learning from review {n}",
                themes=[THEMES[n % 5], THEMES[(n + 2) % 5]],
                agencies=[AGENCIES[n % 5]],
                boroughs=[BOROUGHS[n % 5]],
            )
            async with http.post(f"{base}/api/v1/briefs", json=body) as response:
                created = await response.json()
            async with http.post(f"{base}/api/v1/briefs/{created['id']}/publish") as response:
                assert response.status == 200, await response.text()


def bare_server(port: str, body_file: str, etag: str, content_type: str, logged: str) -> None:
    """The least any server must do: the same bytes, and a 304 for a matching ETag.

    ``logged`` = "1" logs like ``learnhub serve`` (INFO, an access-log line per request),
    which is most of the difference between the real app and a bare handler.
    """
    body = Path(body_file).read_bytes()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}

    async def handle(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={**headers, "Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/feeds/briefs.atom", handle)
    if logged == "1":
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        web.run_app(app, host="127.0.0.1", port=int(port), print=None)
    else:
        web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)


def load(url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    """Requests per second, by wrk or else by a load generator in its own process."""
    if shutil.which("wrk"):
        args = ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", url]
        for name, value in headers.items():
            args[1:1] = ["-H", f"{name}: {value}"]
        output = subprocess.run(args, capture_output=True, text=True, check=True).stdout  # noqa: S603
        match = re.search(r"Requests/sec:\s+([\d.]+)", output)
        assert match, output
        return float(match.group(1))
    code = "import sys; from bench.feeds import generate; generate(*sys.argv[1:])"
    args = [sys.executable, "-c", code, url, repr(headers), str(seconds), str(connections)]
    output = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S603
    return float(output.strip())


def generate(url: str, headers: str, seconds: str, connections: str) -> None:
    import ast

    async def run() -> float:
        deadline = time.perf_counter() + float(seconds)
        done = 0

        async def worker(http: aiohttp.ClientSession) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with http.get(url, headers=ast.literal_eval(headers)) as response:
                    await response.read()
                done += 1

        connector = aiohttp.TCPConnector(limit=int(connections))
        async with aiohttp.ClientSession(connector=connector) as http:
            started = time.perf_counter()
            await asyncio.gather(*(worker(http) for _ in range(int(connections))))
            return done / (time.perf_counter() - started)

    print(asyncio.run(run()))


async def time_render(database_url: str, base_url: str) -> tuple[float, float]:
    """Median milliseconds of an uncached 50-entry feed: building the XML, and query + build."""
    from service import db
    from service.briefs.queries import Filters, public_briefs
    from service.feeds.build import FeedMeta, item_from_brief, render_feed
    from service.feeds.service import render_public
    from service.taxonomy import default_taxonomy

    taxonomy = default_taxonomy()
    engine = db.create_engine(database_url)
    sessions = db.sessionmaker(engine, readonly=True)
    async with sessions() as session:
        briefs = list(await session.scalars(public_briefs(Filters(), taxonomy).limit(50)))
    assert len(briefs) == 50
    build, total = [], []
    for _ in range(50):
        started = time.perf_counter()
        items = [item_from_brief(brief, taxonomy, base_url) for brief in briefs]
        meta = FeedMeta(
            "Learning briefs", "All", f"{base_url}/feeds/briefs.atom", base_url, items[0].updated
        )
        render_feed("atom", meta, items)
        build.append(time.perf_counter() - started)
        started = time.perf_counter()
        async with sessions() as session:
            await render_public(
                session,
                filters=Filters(),
                taxonomy=taxonomy,
                base_url=base_url,
                fmt="atom",
                self_url=f"{base_url}/feeds/briefs.atom",
            )
        total.append(time.perf_counter() - started)
    await engine.dispose()
    return statistics.median(build) * 1000, statistics.median(total) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--briefs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


async def run(options: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="learnhub-bench-"))
    app_port, bare_port, quiet_port, handler_port = (free_port() for _ in range(4))
    base = f"http://127.0.0.1:{app_port}"
    async with scratch_database(options.database_url) as database_url:
        env = {
            **os.environ,
            "LEARNHUB_DATABASE_URL": database_url,
            "LEARNHUB_BASE_URL": base,
            "LEARNHUB_SECRET_KEY": "bench-secret",
            "LEARNHUB_MAILDIR": str(workdir / "mail"),
        }
        learnhub = [sys.executable, "-c", LEARNHUB]
        subprocess.run([*learnhub, "db", "upgrade"], cwd=ROOT, env=env, check=True)  # noqa: S603, ASYNC221
        added = subprocess.run(  # noqa: S603, ASYNC221
            [*learnhub, "staff", "add", "bench@merseyside.police.uk", "--role", "publisher"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        token = added.stdout.strip().splitlines()[-1]
        with process([*learnhub, "serve", "--port", str(app_port)], env):
            await wait_for(f"{base}/healthz")
            await create_briefs(base, token, options.briefs)
            url = f"{base}/feeds/briefs.atom"
            body, etag, content_type = await first_fetch(url)
            body_file = workdir / "feed.xml"
            body_file.write_bytes(body)
            code = "import sys; from bench.feeds import bare_server; bare_server(*sys.argv[1:])"
            bare = [sys.executable, "-c", code]
            same = [str(body_file), etag, content_type]
            only = [sys.executable, "-c", HANDLER_ONLY]
            with (
                process([*bare, str(bare_port), *same, "1"], env),
                process([*bare, str(quiet_port), *same, "0"], env),
                process([*only, str(handler_port)], env),
            ):
                servers = {
                    "app": url,
                    "bare, logged like serve": f"http://127.0.0.1:{bare_port}/feeds/briefs.atom",
                    "bare, no access log": f"http://127.0.0.1:{quiet_port}/feeds/briefs.atom",
                    "app without shared middlewares, no access log": (
                        f"http://127.0.0.1:{handler_port}/feeds/briefs.atom"
                    ),
                }
                for server in servers.values():
                    await wait_for(server)
                results = compare(
                    servers, etag, options.seconds, options.connections, options.rounds
                )
        build_ms, total_ms = await time_render(database_url, base)
    shutil.rmtree(workdir, ignore_errors=True)

    dialect = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    tool = "wrk" if shutil.which("wrk") else "aiohttp load generator"
    print(
        f"{dialect}; {len(body):,} byte feed, {options.connections} connections, {tool}, median of "
        f"{options.rounds} rounds; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for case, rates in results.items():
        app_rps, quiet = rates["app"], rates["bare, no access log"]
        print(f"{case}: app (access log on) {app_rps:.0f} req/s")
        ratio = app_rps / quiet
        print(f"  bare, no access log: {quiet:.0f} req/s, ratio app/bare {ratio:.2f} (aim 0.8)")
        logged = rates["bare, logged like serve"]
        print(f"  bare with aiohttp's access log: {logged:.0f} req/s, ratio {app_rps / logged:.2f}")
        handler = rates[next(iter(list(rates)[3:]))]
        print(f"  feed handler alone: {handler:.0f} req/s, ratio to bare {handler / quiet:.2f}")
    print(f"uncached 50-entry render: {build_ms:.2f} ms to build, {total_ms:.2f} ms with the query")


def compare(
    servers: dict[str, str], etag: str, seconds: float, connections: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Each case ``rounds`` times, alternating servers, keeping the median of each."""
    cases: dict[str, dict[str, str]] = {
        "cached feed (200)": IDENTITY,
        "revalidation (304)": {**IDENTITY, "If-None-Match": etag},
    }
    results = {}
    for case, headers in cases.items():
        runs: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, url in servers.items():
                runs[name].append(load(url, headers, seconds, connections))
        results[case] = {name: statistics.median(rates) for name, rates in runs.items()}
    return results


if __name__ == "__main__":
    main()
