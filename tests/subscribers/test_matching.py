"""Who should get this brief: the filter rules, groups merged, each person once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.taxonomy import default_taxonomy
from subscribers.matching import BriefFacts, recipients
from subscribers.models import Group, GroupMember, Subscriber
from tests import factories

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DOMAINS = ("nhs.net",)
TAXONOMY = default_taxonomy()


def facts(audience: str = "public", **codes: list[str]) -> BriefFacts:
    return BriefFacts(
        brief_id=uuid.uuid4(),
        revision=1,
        audience=audience,
        codes={f: frozenset(codes.get(f, [])) for f in ("themes", "agencies", "boroughs")},
    )


async def person(
    session: AsyncSession, email: str, frequency: str = "immediate", **options: Any
) -> Subscriber:
    return await factories.person(session, email, frequency, since=NOW, **options)


async def who(
    sessions: async_sessionmaker[AsyncSession], brief: BriefFacts, frequency: str = "immediate"
) -> Any:
    async with sessions() as session:
        found = await recipients(
            session, brief, frequency=frequency, taxonomy=TAXONOMY, practitioner_domains=DOMAINS
        )
    return {r.email: (r.personal, sorted(r.groups)) for r in found}


async def test_filter_rules(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await person(session, "everything@nhs.net")
        await person(session, "neglect@nhs.net", themes=["neglect"])
        await person(session, "either@nhs.net", themes=["neglect", "safer-sleep"])
        await person(session, "neglect-wirral@nhs.net", themes=["neglect"], boroughs=["wirral"])
        await person(session, "health@nhs.net", agencies=["health"])
        await person(session, "police@nhs.net", agencies=["police"])
        await person(session, "daily@nhs.net", "daily")
        await person(session, "paused@nhs.net", paused=True)
        await person(session, "pending@nhs.net", status="pending")
        await person(session, "ended@nhs.net", status="ended")
    brief = facts(themes=["neglect"], agencies=["midwifery"], boroughs=["knowsley"])
    assert set(await who(sessions, brief)) == {
        "everything@nhs.net",
        "neglect@nhs.net",
        "either@nhs.net",
        "health@nhs.net",
    }
    region_wide = facts(themes=["safer-sleep"], agencies=["police"])
    assert set(await who(sessions, region_wide)) == {
        "everything@nhs.net",
        "either@nhs.net",
        "police@nhs.net",
    }
    assert set(await who(sessions, brief, "daily")) == {"daily@nhs.net"}


async def test_groups_merge_with_personal_subscriptions_each_person_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        both = await person(session, "both@nhs.net", themes=["neglect"])
        member = await person(session, "member-only@gmail.com", status="none")
        invited = await person(session, "invited@nhs.net", status="none")
        mash = Group(
            name="Knowsley MASH",
            frequency="immediate",
            themes=["neglect"],
            agencies=[],
            boroughs=["knowsley"],
            practitioners_only=True,
            created_at=NOW,
        )
        leads = Group(
            name="School leads",
            frequency="immediate",
            themes=[],
            agencies=["education"],
            boroughs=[],
            created_at=NOW,
        )
        session.add_all([mash, leads])
        await session.flush()
        for group, sub, confirmed in [
            (mash, both, True),
            (mash, member, True),
            (leads, both, True),
            (mash, invited, False),
        ]:
            session.add(
                GroupMember(
                    group_id=group.id,
                    subscriber_id=sub.id,
                    invited_at=NOW,
                    confirmed_at=NOW if confirmed else None,
                )
            )
    brief = facts(themes=["neglect"], agencies=["education"], boroughs=["knowsley"])
    assert await who(sessions, brief) == {
        "both@nhs.net": (True, ["Knowsley MASH", "School leads"]),
        "member-only@gmail.com": (False, ["Knowsley MASH"]),
    }
    restricted = facts(
        "practitioners", themes=["neglect"], agencies=["education"], boroughs=["knowsley"]
    )
    # The restricted brief reaches the practitioner address through its own subscription and
    # the practitioner group, not through the ordinary group nor to the personal address.
    assert await who(sessions, restricted) == {"both@nhs.net": (True, ["Knowsley MASH"])}
