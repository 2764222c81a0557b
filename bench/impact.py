"""Impact report speed: a year of history at the issue's scale, the JSON and the page.

Usage: python bench/impact.py [--database-url URL] [--people 100000] [--briefs 200]
       [--deliveries 2000000] [--acknowledgements 20000] [--discussions 2000] [--rounds 5]

Inserts, with core INSERTs in chunks: the subscribers (as bench/matching.py does; two in five
say their agency and borough, and four domains are mapped), 200 briefs published through
2026, alerts and digests carrying 2 million deliveries (an alert one brief, a digest two to
five), 20,000 acknowledgements and 2,000 team discussions with one to four actions each. Then
``learnhub serve`` in a subprocess answers GET /api/v1/impact and GET /staff/impact for the
year, ``--rounds`` times each after one warm-up. Before that, the days are rolled up as
``serve`` does it (practice.impact.rollup, a transaction a day), timed, all but the year's last
two days: the report reads those from the records, as it would on 2 January. The raw limit
measured in the same run is the database's share of the largest query had there been no
roll-up: a count(*) of the year's sent alerts and digests.
Aim: under 1 s for both. A PostgreSQL --database-url must name a database that does not
exist: it is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from _common import (
    AGENCIES,
    BOROUGHS,
    THEMES,
    Mix,
    add_subscribers,
    learnhub_env,
    median,
    percentile,
    scratch_database,
    serve,
    table,
    timed,
)
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from practice.acknowledgements.models import Acknowledgement
from practice.discussions.models import DiscussionAction, TeamDiscussion
from practice.impact import rollup
from service import db
from service.briefs.models import Brief, BriefTag
from service.mail.models import MailDelivery, MailMessage
from service.migrate import upgrade
from service.staff.models import Role, StaffMember, StaffSession
from service.staff.service import create as create_staff
from service.staff.service import hash_token
from subscribers.subscriptions.models import DomainAgency, Subscriber

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
CHUNK = 10_000


def at(rng: random.Random, day_from: int = 0, days: int = 365) -> datetime:
    return START + timedelta(days=day_from + rng.random() * days)


async def seed(session: AsyncSession, args: argparse.Namespace) -> tuple[str, int]:
    """The year's history; returns a staff API token and the number of messages."""
    rng = random.Random(18)  # noqa: S311  # reproducible data, not secrets
    await add_subscribers(session, Mix(args.people), now=START)
    people = list(await session.execute(select(Subscriber.id, Subscriber.email)))
    stated = [
        {"b_id": i, "agency": rng.choice(AGENCIES), "borough": rng.choice(BOROUGHS)}
        for i, _ in people
        if rng.random() < 0.4
    ]
    await session.execute(
        update(Subscriber.__table__)
        .where(Subscriber.__table__.c.id == bindparam("b_id"))
        .values(my_agency=bindparam("agency"), my_borough=bindparam("borough")),
        stated,
    )
    await session.execute(
        insert(DomainAgency),
        [
            {"domain": "nhs.net", "agency": "health", "borough": None},
            {"domain": "merseyside.police.uk", "agency": "police", "borough": None},
            {
                "domain": "liverpool.gov.uk",
                "agency": "childrens-social-care",
                "borough": "liverpool",
            },
            {"domain": "sefton.gov.uk", "agency": "childrens-social-care", "borough": "sefton"},
        ],
    )
    token = await create_staff(
        session, email="bench@merseyside.police.uk", role=Role.admin, now=START
    )
    staff_id = await session.scalar(select(StaffMember.id))

    briefs = []
    for n in range(args.briefs):
        published = START + timedelta(days=365 * n / args.briefs)
        briefs.append(
            {
                "id": uuid.uuid4(),
                "title": f"Bench brief {n}",
                "summary": "s",
                "summary_html": "<p>s</p>",
                "learning_points": ["p"],
                "source_review": "r",
                "source_board": "b",
                "audience": "public",
                "status": "withdrawn" if n % 40 == 0 else "published",
                "revision": 1,
                "created_at": published,
                "updated_at": published,
                "published_at": published,
                "publication": 1,
                "created_by": staff_id,
                "publisher_facets": ["themes"],
                "actions": [],
                "questions": [],
                "resources": [],
            }
        )
    await session.execute(insert(Brief), briefs)
    await session.execute(
        insert(BriefTag),
        [
            {
                "brief_id": b["id"],
                "facet": "themes",
                "code": code,
                "source": "publisher",
                "evidence": [],
            }
            for b in briefs
            for code in rng.sample(THEMES, rng.randint(1, 3))
        ],
    )

    # Messages carrying 2 million deliveries: each brief's alerts and digests near its date.
    first = (await session.scalar(select(func.max(MailMessage.id)))) or 0
    message_id, deliveries, messages = first, 0, []
    links: list[dict[str, Any]] = []
    while deliveries < args.deliveries:
        message_id += 1
        carried = 1 if rng.random() < 0.6 else rng.randint(2, 5)
        anchor = rng.randrange(len(briefs))
        chosen = {briefs[min(len(briefs) - 1, anchor + k)]["id"] for k in range(carried)}
        sent = briefs[anchor]["published_at"] + timedelta(days=rng.random() * 7)
        _, email = people[rng.randrange(len(people))]
        messages.append(
            {
                "id": message_id,
                "idempotency_key": f"bench-{message_id}",
                "kind": "alert" if carried == 1 else "digest",
                "recipient": email,
                "subject": "s",
                "status": "sent" if rng.random() < 0.99 else "failed",
                "attempts": 1,
                "next_attempt_at": sent,
                "created_at": sent,
                "sent_at": sent,
            }
        )
        links += [{"message_id": message_id, "brief_id": b, "revision": 1} for b in chosen]
        deliveries += len(chosen)
        if len(messages) >= CHUNK:
            await session.execute(insert(MailMessage), messages)
            await session.execute(insert(MailDelivery), links)
            messages, links = [], []
    if messages:
        await session.execute(insert(MailMessage), messages)
        await session.execute(insert(MailDelivery), links)
    if session.get_bind().dialect.name == "postgresql":
        serial = func.pg_get_serial_sequence(MailMessage.__tablename__, "id")
        await session.execute(select(func.setval(serial, message_id)))

    pairs = set()
    while len(pairs) < args.acknowledgements:
        pairs.add((people[rng.randrange(len(people))][0], rng.randrange(len(briefs))))
    rows = []
    for subscriber_id, b in pairs:
        moment = briefs[b]["published_at"] + timedelta(days=rng.random() * 30)
        rows.append(
            {
                "subscriber_id": subscriber_id,
                "brief_id": briefs[b]["id"],
                "brief_title": briefs[b]["title"],
                "answer": "bench",
                "acknowledged_at": moment,
                "updated_at": moment,
            }
        )
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(Acknowledgement), rows[start : start + CHUNK])

    discussions, actions = [], []
    for n in range(1, args.discussions + 1):
        b = briefs[rng.randrange(len(briefs))]
        held = min(b["published_at"] + timedelta(days=rng.random() * 60), NOW - timedelta(days=6))
        discussions.append(
            {
                "id": n,
                "brief_id": b["id"],
                "brief_title": b["title"],
                "held_on": held.date(),
                "team": "Team",
                "agency": rng.choice(AGENCIES),
                "borough": rng.choice(BOROUGHS),
                "practitioners": rng.randint(2, 30),
                "reflections": "r",
                "recorder": "staff",
                "recorder_email": "rec@merseyside.police.uk",
                "token_hash": secrets.token_hex(32),
                "recorded_at": held,
                "updated_at": held,
            }
        )
        for position in range(1, rng.randint(1, 4) + 1):
            actions.append(
                {
                    "discussion_id": n,
                    "position": position,
                    "what": "w",
                    "owner_role": "o",
                    "due_on": held.date() + timedelta(days=rng.randint(7, 90)),
                    "status": rng.choice(["open", "open", "done", "dropped"]),
                }
            )
    await session.execute(insert(TeamDiscussion), discussions)
    await session.execute(insert(DiscussionAction), actions)
    if session.get_bind().dialect.name == "postgresql":
        serial = func.pg_get_serial_sequence(TeamDiscussion.__tablename__, "id")
        await session.execute(select(func.setval(serial, args.discussions)))
    return token, message_id - first


async def console_cookie(session: AsyncSession) -> str:
    token = secrets.token_urlsafe(32)
    staff_id = await session.scalar(select(StaffMember.id))
    now = datetime.now(UTC)
    session.add(
        StaffSession(
            token_hash=hash_token(token), staff_id=staff_id, created_at=now, last_seen_at=now
        )
    )
    return token


async def floor(engine: AsyncEngine) -> float:
    async with db.sessionmaker(engine)() as session:
        start = time.perf_counter()
        await session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .where(
                MailMessage.kind.in_(("alert", "digest")),
                MailMessage.status == "sent",
                MailMessage.sent_at >= START,
                MailMessage.sent_at < START + timedelta(days=365),
            )
        )
        return time.perf_counter() - start


async def main(args: argparse.Namespace) -> None:
    async with scratch_database(args.database_url) as url:
        await upgrade(url)
        engine = db.create_engine(url)
        try:
            with timed() as seeded:
                async with db.sessionmaker(engine).begin() as session:
                    token, messages = await seed(session, args)
                if engine.dialect.name == "postgresql":
                    async with engine.connect() as connection:
                        await connection.execution_options(isolation_level="AUTOCOMMIT")
                        await connection.execute(text("VACUUM ANALYZE"))
                else:
                    async with engine.begin() as connection:
                        await connection.execute(text("ANALYZE"))
            with timed() as rolled:
                days = await rollup.roll_up(
                    db.sessionmaker(engine), lambda: NOW, through=YEAR[1] - timedelta(days=2)
                )
            async with db.sessionmaker(engine).begin() as session:
                cookie = await console_cookie(session)
            floors = [await floor(engine) for _ in range(args.rounds)]
        finally:
            await engine.dispose()
        query = f"from={YEAR[0].isoformat()}&to={YEAR[1].isoformat()}"
        times: dict[str, list[float]] = {}
        sizes: dict[str, int] = {}
        with tempfile.TemporaryDirectory(prefix="learnhub-bench-") as tmp:
            async with serve(learnhub_env(url, tmp)) as base, aiohttp.ClientSession() as http:
                for label, path, headers in (
                    (
                        "GET /api/v1/impact (year)",
                        f"/api/v1/impact?{query}",
                        {"Authorization": f"Bearer {token}"},
                    ),
                    (
                        "GET /staff/impact (year)",
                        f"/staff/impact?{query}",
                        {"Cookie": f"lh_staff={cookie}"},
                    ),
                ):
                    runs = []
                    for n in range(args.rounds + 1):
                        start = time.perf_counter()
                        async with http.get(base + path, headers=headers) as response:
                            body = await response.read()
                            assert response.status == 200, (response.status, body[:300])
                        if n:  # the first warms the caches
                            runs.append(time.perf_counter() - start)
                    times[label], sizes[label] = runs, len(body)
        times["floor: SQL count(*) of the year's sent emails"] = floors
    print(f"database  {url.split(':')[0]}; {args.people} subscribers, {args.briefs} briefs")
    print(
        f"history   {messages} emails carrying {args.deliveries}+ deliveries, "
        f"{args.acknowledgements} acknowledgements, {args.discussions} discussions"
    )
    print(f"seeding   {seeded[0]:.1f} s (core INSERTs); aim: JSON and page < 1 s")
    print(f"roll-up   {days} days in {rolled[0]:.1f} s, a transaction a day (once, after upgrade)")
    table(
        ["", "median ms", "p95 ms", "bytes"],
        [
            [
                label,
                f"{median(t) * 1000:.0f}",
                f"{percentile(t, 0.95) * 1000:.0f}",
                sizes.get(label, ""),
            ]
            for label, t in times.items()
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--briefs", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=2_000_000)
    parser.add_argument("--acknowledgements", type=int, default=20_000)
    parser.add_argument("--discussions", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
