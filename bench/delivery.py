"""Alert delivery: one publication to 10,000 immediate subscribers, through the real path.

Usage: python bench/delivery.py [--database-url URL] [-n 10000] [--concurrency 4]

N immediate subscribers whose filters all match the brief are inserted directly. Then
``learnhub serve`` runs in a subprocess with LEARNHUB_SMTP_URL pointing at an aiosmtpd sink
in another process; a brief is created and published through the API, and the path is the
real one: event -> dispatcher -> alerts -> mail queue -> MailWorker -> SmtpSender -> sink.
Timed from the publish request: the first message accepted by the sink, and all N. The
baseline, in the same run: a bare aiosmtplib loop sending the same N messages (read back
from the queue) over the same number of connections. Aim: ratio >= 0.7. A PostgreSQL
--database-url must name a database that does not exist: it is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from datetime import timedelta

import aiohttp
from _common import (
    PRACTITIONER_DOMAINS,
    THEMES,
    Mix,
    add_subscribers,
    bare_smtp,
    learnhub,
    learnhub_env,
    scratch_database,
    serve,
    sink,
    table,
)
from sqlalchemy import select

from service import db
from service.clock import utcnow
from service.mail.models import MailMessage
from tests.briefs_data import brief_body

TAGS = {"themes": ["safer-sleep", "infants"], "agencies": ["midwifery"], "boroughs": ["sefton"]}


def matching_filters(rng: random.Random) -> dict[str, list[str]]:
    """A filter the brief matches: empty, its own codes, a parent ("health"), or a mixture."""
    return {
        "themes": rng.choice([[], ["safer-sleep"], ["infants", rng.choice(THEMES)]]),
        "agencies": rng.choice([[], ["health"], ["midwifery", "police"]]),
        "boroughs": rng.choice([[], ["sefton"], ["sefton", "wirral"]]),
    }


async def seed(url: str, n: int) -> None:
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine).begin() as session:
            mix = Mix(n, immediate=1.0, daily=0, inactive=0, groups=0)
            await add_subscribers(
                session, mix, now=utcnow() - timedelta(days=1), filters=matching_filters
            )
    finally:
        await engine.dispose()


async def publish(base: str, token: str) -> float:
    """Create a draft, then publish it; the time.monotonic() the publish request was sent."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        async with http.post("/api/v1/briefs", json=brief_body(**TAGS)) as response:
            brief = await response.json()
        sent = time.monotonic()
        async with http.post(f"/api/v1/briefs/{brief['id']}/publish", json={}) as response:
            if response.status != 200:
                raise SystemExit(f"publish failed: {response.status} {await response.text()}")
    return sent


async def bodies(url: str) -> list[bytes]:
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine)() as session:
            return [b for b in await session.scalars(select(MailMessage.body)) if b]
    finally:
        await engine.dispose()


async def main(url: str | None, n: int, concurrency: int) -> None:
    async with scratch_database(url) as database_url, sink() as target:
        with tempfile.TemporaryDirectory(prefix="learnhub-bench-") as tmp:
            env = learnhub_env(
                database_url,
                tmp,
                smtp_url=f"smtp://127.0.0.1:{target.port}",
                mail_concurrency=str(concurrency),
                practitioner_domains=",".join(PRACTITIONER_DOMAINS),
            )
            await asyncio.to_thread(learnhub, env, "db", "upgrade")
            token = await asyncio.to_thread(
                learnhub, env, "staff", "add", "bench@example.org", "--role", "publisher"
            )
            await seed(database_url, n)
            async with serve(env) as base:
                target.reset()
                sent = await publish(base, token)
                done = await target.until(n)
                first = target.first.value - sent
            messages = await bodies(database_url)
        bare = await bare_smtp(target, messages, concurrency)
    real = done - sent
    size = sum(map(len, messages)) / len(messages) / 1024
    print(
        f"database  {database_url.split(':')[0]}; {n} immediate subscribers, "
        f"messages of {size:.1f} KB, {concurrency} SMTP connections; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    table(
        ["", "figure", "aim"],
        [
            ["publish -> first email accepted", f"{first:.2f} s", ""],
            ["publish -> all accepted", f"{real:.1f} s", ""],
            ["real path", f"{n / real:.0f} msg/s", ""],
            ["bare aiosmtplib, same messages", f"{n / bare:.0f} msg/s", ""],
            ["ratio", f"{bare / real:.2f}", ">= 0.7"],
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.n, args.concurrency))
