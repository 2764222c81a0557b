"""Public pages from the page cache: the real app against a bare aiohttp server answering the
same bytes.

Usage: python bench/pages.py [--database-url URL] [--seconds 5] [--connections 32]
       [--rounds 3] [--briefs 60]

Starts ``learnhub serve`` (its access log on, as it runs) on a fresh database (a temporary
SQLite file, or a PostgreSQL database that must not exist yet: it is created and dropped),
creates and publishes briefs through the API, then loads home, a brief's page and a search
with ``wrk -t1``, each as a 200 and as a 304 (``If-None-Match``), and the same requests
against a bare aiohttp server in another process that answers the same bytes, with and
without an access log. Rounds alternate the servers; the table gives each one's median of
the rounds, and the median of the rounds' ratios. The load average is read before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The bare server runs this module as bench.pages in a process of its own: both the project
# and bench/ (for _common) must be importable there too.
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import aiohttp  # noqa: E402
from _common import (  # noqa: E402
    AGENCIES,
    BOROUGHS,
    HANDLER_ONLY,
    IDENTITY,
    THEMES,
    first_fetch,
    free_port,
    learnhub,
    learnhub_env,
    process,
    scratch_database,
    serve,
    table,
    wait_for,
)
from aiohttp import web  # noqa: E402

from tests.briefs_data import brief_body  # noqa: E402

SEARCH = "/?q=sleep"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # as learnhub/cli.py


async def create_briefs(base: str, token: str, count: int) -> str:
    """Publish ``count`` briefs through the API; the id of the last."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for n in range(count):
            body = brief_body(
                title=f"Brief {n}: learning from review {n}",
                themes=[THEMES[n % len(THEMES)], THEMES[(n + 2) % len(THEMES)]],
                agencies=[AGENCIES[n % len(AGENCIES)]],
                boroughs=[BOROUGHS[n % len(BOROUGHS)]],
            )
            async with http.post(f"{base}/api/v1/briefs", json=body) as response:
                created = await response.json()
            async with http.post(f"{base}/api/v1/briefs/{created['id']}/publish") as response:
                assert response.status == 200, await response.text()
    return str(created["id"])


def bare_server(port: str, manifest: str, logged: str) -> None:
    """The least any server must do: the same bytes for each path, and a 304 for a matching
    ETag. ``logged`` = "1" adds aiohttp's access log at INFO, formatted as serve's logs."""
    pages = {
        path: (Path(page["file"]).read_bytes(), page["etag"], page["type"])
        for path, page in json.loads(Path(manifest).read_text()).items()
    }

    async def handle(request: web.Request) -> web.Response:
        body, etag, content_type = pages[request.path_qs]
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={**headers, "Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    if logged == "1":
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        web.run_app(app, host="127.0.0.1", port=int(port), print=None)
    else:
        web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)


def wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> float:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", url]
    for name, value in headers.items():
        args[1:1] = ["-H", f"{name}: {value}"]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout  # noqa: S603
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    assert non_2xx is None, f"{url}: {non_2xx.group(0)}"
    return float(match.group(1))


def loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def write_manifest(tmp: Path, fetched: dict[str, tuple[bytes, str, str]]) -> dict[str, Any]:
    """What the bare server answers: each path's bytes (in a file), ETag and type."""
    manifest = {}
    for n, (path, (body, etag, content_type)) in enumerate(fetched.items()):
        file = tmp / f"page-{n}.html"
        file.write_bytes(body)
        manifest[path] = {"file": str(file), "etag": etag, "type": content_type, "size": len(body)}
    (tmp / "pages.json").write_text(json.dumps(manifest))
    return manifest


async def run(options: argparse.Namespace) -> None:
    async with scratch_database(options.database_url) as url:
        with tempfile.TemporaryDirectory(prefix="learnhub-bench-") as tmp:
            env = learnhub_env(url, tmp)
            learnhub(env, "db", "upgrade")
            added = learnhub(
                env, "staff", "add", "bench@merseyside.police.uk", "--role", "publisher"
            )
            token = added.splitlines()[-1]
            async with serve(env) as base:
                brief_id = await create_briefs(base, token, options.briefs)
                paths = {"home": "/", "brief": f"/briefs/{brief_id}", "search": SEARCH}
                fetched = {path: await first_fetch(base + path) for path in paths.values()}
                manifest = write_manifest(Path(tmp), fetched)
                await bench(options, base, paths, manifest, Path(tmp, "pages.json"), env)


async def bench(
    options: argparse.Namespace,
    base: str,
    paths: dict[str, str],
    manifest: dict[str, Any],
    manifest_file: Path,
    env: dict[str, str],
) -> None:
    code = "import sys; from bench.pages import bare_server; bare_server(*sys.argv[1:])"
    bare_port, logged_port, handler_port = free_port(), free_port(), free_port()
    bare = [sys.executable, "-c", code]
    alone = [sys.executable, "-c", HANDLER_ONLY]
    servers = {
        "ours": base,
        "bare": f"http://127.0.0.1:{bare_port}",
        "bare, logged": f"http://127.0.0.1:{logged_port}",
        "handler alone": f"http://127.0.0.1:{handler_port}",
    }
    with (
        process([*bare, str(bare_port), str(manifest_file), "0"], env),
        process([*bare, str(logged_port), str(manifest_file), "1"], env),
        process([*alone, str(handler_port)], env),
    ):
        for server in servers.values():
            await wait_for(server + "/")
        before = loadavg()
        cases = {
            f"{name} {status}": (path, headers)
            for name, path in paths.items()
            for status, headers in (
                ("200", IDENTITY),
                ("304", {**IDENTITY, "If-None-Match": manifest[path]["etag"]}),
            )
        }
        runs: dict[str, dict[str, list[float]]] = {c: {s: [] for s in servers} for c in cases}
        for _ in range(options.rounds):
            for case, (path, headers) in cases.items():
                for server, origin in servers.items():
                    rate = await asyncio.to_thread(
                        wrk, origin + path, headers, options.seconds, options.connections
                    )
                    runs[case][server].append(rate)
        after = loadavg()
    database = "PostgreSQL" if options.database_url else "SQLite"
    sizes = ", ".join(f"{name} {manifest[path]['size']:,} B" for name, path in paths.items())
    print(
        f"{database}, {options.briefs} briefs; pages of {sizes}; "
        f"wrk -t1 -c{options.connections}, {options.seconds:.0f} s a run, {options.rounds} rounds; "
        f"load average before {before}, after {after}"
    )
    rows = []
    for case, rates in runs.items():
        ours, plain, logged, alone = (statistics.median(rates[s]) for s in servers)
        rows.append(
            [
                case,
                f"{plain:,.0f}",
                f"{logged:,.0f}",
                f"{ours:,.0f}",
                f"{_ratio(rates, 'ours', 'bare'):.2f}",
                f"{_ratio(rates, 'ours', 'bare, logged'):.2f}",
                f"{alone:,.0f} ({_ratio(rates, 'handler alone', 'bare'):.2f})",
            ]
        )
    header = ["case", "bare req/s", "bare logged", "ours", "ours/bare", "/bare logged"]
    table([*header, "handler alone (/bare)"], rows)


def _ratio(rates: dict[str, list[float]], server: str, to: str) -> float:
    """The median of the rounds' ratios (each round runs the servers back to back)."""
    return statistics.median(a / b for a, b in zip(rates[server], rates[to], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql+asyncpg://… of a database to create")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--briefs", type=int, default=60)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/pages.py needs wrk")
    asyncio.run(run(options))


if __name__ == "__main__":
    main()
