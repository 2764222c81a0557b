"""Who should get this brief: the filter rules, groups merged, each person once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.taxonomy import default_taxonomy
from subscribers.alerts.matching import BriefFacts, recipients
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions import masks
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.service import set_filters
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
    return {r.email: (r.subscribed, sorted(r.groups)) for r in found}


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


async def test_a_changed_filter_is_matched_by_its_new_codes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        changing = await person(session, "changing@nhs.net", themes=["neglect"])
        await person(session, "any-theme@nhs.net", boroughs=["wirral"])
    async with sessions.begin() as session:
        changing = await session.get_one(Subscriber, changing.id)
        await set_filters(session, changing, {"themes": ["safer-sleep"], "agencies": None})
    assert set(await who(sessions, facts(themes=["neglect"]))) == {"any-theme@nhs.net"}
    assert set(await who(sessions, facts(themes=["safer-sleep"]))) == {
        "changing@nhs.net",
        "any-theme@nhs.net",
    }
    # A code nobody has chosen has no bit yet: only those who left the facet empty match.
    assert set(await who(sessions, facts(themes=["infants"]))) == {"any-theme@nhs.net"}


async def test_a_code_keeps_its_bit_and_a_facet_holds_63_codes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        first = await masks.allocate(session, {"themes": ["neglect", "infants"]})
    async with sessions.begin() as session:
        later = await masks.allocate(
            session, {"themes": ["adoption", "neglect"], "boroughs": ["wirral"]}
        )
    assert later[("themes", "neglect")] == first[("themes", "neglect")]
    assert later[("themes", "infants")] == first[("themes", "infants")]
    themes = [bit for (facet, _), bit in later.items() if facet == "themes"]
    assert sorted(themes) == [0, 1, 2]
    assert later[("boroughs", "wirral")] == 0
    async with sessions.begin() as session:
        await masks.allocate(session, {"themes": [f"theme-{n}" for n in range(60)]})
    with pytest.raises(masks.TooManyCodes, match="themes facet has used all 63 bits"):
        async with sessions.begin() as session:
            await masks.allocate(session, {"themes": ["one-too-many"]})


async def test_two_transactions_never_give_one_bit_to_two_codes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def choose(code: str) -> None:
        async with sessions.begin() as session:
            await masks.allocate(session, {"agencies": [code]})

    await asyncio.gather(*(choose(code) for code in ("police", "housing", "probation", "health")))
    async with sessions() as session:
        bits = await masks.load(session)
    assert sorted(bits.values()) == [0, 1, 2, 3]
