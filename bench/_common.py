"""What the benches share: a scratch database, an SMTP sink in its own process, the bare
aiosmtplib baseline, bulk-inserted subscribers, and a short table."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiosmtplib import SMTP  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from service.taxonomy import default_taxonomy  # noqa: E402
from subscribers.groups.models import Group, GroupMember  # noqa: E402
from subscribers.subscriptions import masks  # noqa: E402
from subscribers.subscriptions.models import Subscriber, SubscriptionCode  # noqa: E402

HOST = "127.0.0.1"
PRACTITIONER_DOMAINS = ("nhs.net", "police.uk", "gov.uk")
# (domain, weight): practitioners' own addresses and the public's.
DOMAINS = [
    ("nhs.net", 30),
    ("merseyside.police.uk", 8),
    ("liverpool.gov.uk", 10),
    ("sefton.gov.uk", 6),
    ("gmail.com", 20),
    ("outlook.com", 10),
    ("schools.example.org.uk", 16),
]
TAXONOMY = default_taxonomy()
THEMES = [t.code for t in TAXONOMY.terms("themes")]
AGENCIES = [t.code for t in TAXONOMY.terms("agencies")]
BOROUGHS = [t.code for t in TAXONOMY.terms("boroughs")]


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


# A scratch database: a temp SQLite file, or a PostgreSQL database created for the run.


@contextlib.asynccontextmanager
async def scratch_database(url: str | None) -> AsyncIterator[str]:
    """The URL of an empty database that is removed afterwards.

    A PostgreSQL URL must name a database that does not exist yet: it is created here and
    dropped at the end, so the bench can never drop a database it did not make.
    """
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="learnhub-bench-") as tmp:
            yield url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    connection = await asyncpg.connect(admin)
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            raise SystemExit(f"the database {name} exists: name a new one, the bench drops it")
        await connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url
        finally:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await connection.close()


# ``learnhub`` itself, as an operator runs it.

LEARNHUB = "from learnhub.cli import main; main()"


def learnhub_env(url: str, tmp: str, **settings: str) -> dict[str, str]:
    """The environment of a learnhub process: our database, a temp Maildir, a fixed key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNHUB_")}
    env.update(
        LEARNHUB_DATABASE_URL=url,
        LEARNHUB_SECRET_KEY="bench-secret-key-" + "x" * 32,
        LEARNHUB_MAILDIR=f"{tmp}/mail",
        **{f"LEARNHUB_{k.upper()}": v for k, v in settings.items()},
    )
    return env


def learnhub(env: dict[str, str], *args: str) -> str:
    """Run one ``learnhub`` command; its standard output."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", LEARNHUB, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


# The process behind each base URL that serve() answers with: its CPU time can be read.
SERVED: dict[str, int] = {}


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process and its threads so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def serve(env: dict[str, str]) -> AsyncIterator[str]:
    """``learnhub serve`` in a subprocess on a free port; its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603, ASYNC220  # a server we leave running
        [sys.executable, "-c", LEARNHUB, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://{HOST}:{port}"
    SERVED[base] = proc.pid
    try:
        await wait_for(f"{base}/healthz")
        yield base
    finally:
        del SERVED[base]
        proc.terminate()
        proc.wait(timeout=30)


async def wait_for(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(400):
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"nothing answered at {url}")


# The sink, in a process of its own so that it does not share our event loop or GIL.


@dataclass
class Sink:
    port: int
    count: Any  # multiprocessing.Value("i"): messages accepted
    first: Any  # multiprocessing.Value("d"): time.monotonic() of the first accepted
    process: Any

    def reset(self) -> None:
        self.count.value = 0
        self.first.value = 0.0

    async def until(self, target: int, within: float = 600) -> float:
        """Wait until the sink holds ``target`` messages; returns time.monotonic() then."""
        deadline = time.monotonic() + within
        # The count lives in another process: polling it is the simplest way to see it change.
        while self.count.value < target:
            if time.monotonic() > deadline:
                raise SystemExit(f"the sink got {self.count.value} of {target} messages")
            await asyncio.sleep(0.005)
        return time.monotonic()


def _serve_sink(port: int, count: Any, first: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                if count.value == 0:
                    first.value = time.monotonic()  # system-wide on Linux: comparable with ours
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname=HOST, port=port)
    controller.start()
    ready.set()
    threading.Event().wait()  # until terminated (no semaphore left behind, as one of
    # multiprocessing's would be when the process is killed)


@contextlib.asynccontextmanager
async def sink() -> AsyncIterator[Sink]:
    spawn = multiprocessing.get_context("spawn")
    port, ready = free_port(), spawn.Event()
    count, first = spawn.Value("i", 0), spawn.Value("d", 0.0)
    process = spawn.Process(target=_serve_sink, args=(port, count, first, ready), daemon=True)
    process.start()
    await asyncio.to_thread(ready.wait)
    try:
        yield Sink(port, count, first, process)
    finally:
        process.terminate()
        process.join()


async def bare_smtp(target: Sink, messages: Sequence[bytes], concurrency: int) -> float:
    """The least any sender must do: prebuilt messages, one sendmail after another on each of
    ``concurrency`` connections, no database. Seconds until the sink holds them all."""
    target.reset()
    start = time.monotonic()

    async def connection(share: Sequence[bytes]) -> None:
        async with SMTP(hostname=HOST, port=target.port) as smtp:
            for n, message in enumerate(share):
                await smtp.sendmail("learning@localhost", [f"bare{n}@example.org"], message)

    await asyncio.gather(*(connection(messages[i::concurrency]) for i in range(concurrency)))
    return await target.until(len(messages)) - start


# Partners' webhook endpoints: one aiohttp receiver, in a process of its own.


def _serve_webhooks(port: int, count: Any, ready: Any) -> None:
    from aiohttp import web

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        with count.get_lock():
            count.value += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{endpoint}", receive)
    ready.set()
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[int, Any]]:
    """An aiohttp receiver in its own process; its port and a count of what it took."""
    spawn = multiprocessing.get_context("spawn")
    port, count, ready = free_port(), spawn.Value("i", 0), spawn.Event()
    process = spawn.Process(target=_serve_webhooks, args=(port, count, ready), daemon=True)
    process.start()
    ready.wait(30)
    deadline = time.monotonic() + 30
    while True:  # until the socket listens
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield port, count
    finally:
        process.terminate()
        process.join(10)


# Subscribers with realistic filters, inserted in bulk.


@dataclass(frozen=True)
class Mix:
    """How many subscribers, and the share of each frequency (the rest are weekly)."""

    people: int
    immediate: float = 0.3
    daily: float = 0.2
    inactive: float = 0.05  # pending, ended or paused: never matched
    groups: int = 12


def _zipf(codes: list[str]) -> list[float]:
    return [1 / (rank + 1) for rank in range(len(codes))]


def filters_of(rng: random.Random) -> dict[str, list[str]]:
    """One person's filter: a mixture of all-empty, one theme, several themes, agencies
    (the parent "health" among them) and boroughs, popular codes more often."""
    roll = rng.random()
    themes = [] if roll < 0.25 else rng.choices(THEMES, _zipf(THEMES), k=1 if roll < 0.6 else 4)
    roll = rng.random()
    if roll < 0.55:
        agencies = []
    elif roll < 0.7:
        agencies = ["health"]
    else:
        agencies = rng.choices(AGENCIES, _zipf(AGENCIES), k=1 if roll < 0.9 else 2)
    roll = rng.random()
    boroughs = [] if roll < 0.5 else rng.sample(BOROUGHS, 1 if roll < 0.9 else 2)
    return {"themes": themes, "agencies": agencies, "boroughs": boroughs}


def _person(n: int, mix: Mix, rng: random.Random, since: datetime) -> dict[str, Any]:
    domain = rng.choices([d for d, _ in DOMAINS], [w for _, w in DOMAINS])[0]
    roll = rng.random()
    frequency = (
        "immediate"
        if roll < mix.immediate
        else "daily"
        if roll < mix.immediate + mix.daily
        else "weekly"
    )
    inactive = rng.random() < mix.inactive
    status = rng.choice(["pending", "ended", "active"]) if inactive else "active"
    consented = since - timedelta(days=rng.randint(1, 400))
    return {
        "email": f"person{n}@{domain}",
        "domain": domain,
        "created_at": consented,
        "confirmed_at": consented if status == "active" else None,
        "status": status,
        "frequency": frequency,
        "paused_at": consented if inactive and status == "active" else None,
        "consent_version": "2026-01",
        "consented_at": consented if status == "active" else None,
        "token_version": 1,
    }


async def add_subscribers(
    session: AsyncSession,
    mix: Mix,
    *,
    now: datetime,
    seed: int = 7,
    filters: Any = filters_of,
) -> list[int]:
    """``mix.people`` subscribers and their filter rows, with core INSERTs in chunks, plus a
    few groups with confirmed members. Returns the subscribers' ids."""
    rng = random.Random(seed)  # noqa: S311  # reproducible data, not secrets
    first = (await session.scalar(select(func.max(Subscriber.id)))) or 0
    bits = await masks.allocate(
        session, {"themes": THEMES, "agencies": AGENCIES, "boroughs": BOROUGHS}
    )
    ids: list[int] = []
    # Ids given here rather than returned: a plain executemany is several times faster.
    for start in range(0, mix.people, 5000):
        chunk = list(range(first + start + 1, first + min(mix.people, start + 5000) + 1))
        people, codes = [], []
        for i in chunk:
            chosen = {facet: list(dict.fromkeys(c)) for facet, c in filters(rng).items()}
            person = _person(i, mix, rng, now) | {"id": i}
            for facet, picked in chosen.items():
                person[f"{facet}_mask"] = masks.mask(bits, facet, picked)
                codes += [{"subscriber_id": i, "facet": facet, "code": c} for c in picked]
            people.append(person)
        await session.execute(insert(Subscriber), people)
        await session.execute(insert(SubscriptionCode), codes)
        ids += chunk
    if session.get_bind().dialect.name == "postgresql":
        serial = func.pg_get_serial_sequence(Subscriber.__tablename__, "id")
        await session.execute(select(func.setval(serial, ids[-1])))
    await _add_groups(session, mix, rng, ids, now)
    return ids


async def _add_groups(
    session: AsyncSession, mix: Mix, rng: random.Random, ids: list[int], now: datetime
) -> None:
    for g in range(mix.groups):
        borough = BOROUGHS[g % len(BOROUGHS)]
        agency = rng.choice(["health-visiting", "education", "police", "childrens-social-care"])
        group_id = await session.scalar(
            insert(Group)
            .values(
                name=f"{borough} {agency} {g}",
                description="",
                borough=borough,
                agency=agency,
                themes=rng.sample(THEMES[:8], rng.randint(0, 2)),
                agencies=[agency] if g % 3 else [],
                boroughs=[borough],
                frequency=["immediate", "daily", "weekly"][g % 3],
                practitioners_only=g % 2 == 0,
                created_at=now,
            )
            .returning(Group.id)
        )
        members = rng.sample(ids, min(len(ids), rng.randint(20, 300)))
        rows = [
            {"group_id": group_id, "subscriber_id": i, "invited_at": now, "confirmed_at": now}
            for i in members
        ]
        await session.execute(insert(GroupMember), rows)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


# The servers of the request-path benches (feeds.py, pages.py).

IDENTITY = {"Accept-Encoding": "identity"}  # the bare servers answer with these very bytes


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A server in a process of its own, terminated afterwards."""
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


HANDLER_ONLY = "import sys; from bench._common import handler_only; handler_only(*sys.argv[1:])"


def handler_only(port: str) -> None:
    """The real app with the shared middlewares, response hooks and access log taken out, and
    no background work: what the handlers and their caches cost alone (settings from the
    environment). Run as a process of its own."""
    import gc

    from aiohttp import web

    from learnhub.app import create_app
    from service.settings import Settings

    app = create_app(Settings(), run_workers=False)
    app.middlewares.clear()
    app.on_response_prepare.clear()
    gc.freeze()  # as serve does: the collector's full passes skip what lives as long as it
    web.run_app(app, host=HOST, port=int(port), print=None, access_log=None)


async def first_fetch(url: str) -> tuple[bytes, str, str]:
    """The body, ETag and Content-Type of a 200, identity-encoded."""
    async with aiohttp.ClientSession() as http, http.get(url, headers=IDENTITY) as response:
        assert response.status == 200, await response.text()
        return await response.read(), response.headers["ETag"], response.headers["Content-Type"]
