"""Filters as bit masks: what makes "who should get this brief?" one scan of a table.

Each code a subscriber can choose has a bit in its facet (table ``code_bits``), given the
first time anyone chooses the code and never changed, so the taxonomy file can grow and be
reordered freely. A subscriber's row carries one mask per facet, the OR of their codes' bits;
0 means they left the facet empty, which matches anything. A brief matches a facet when the
subscriber's mask is 0 or shares a bit with the mask of the brief's codes (widened to their
parents, so that a brief for midwives reaches whoever follows "health").

Masks are 64-bit integers, so a facet holds at most 63 codes (the sign bit is left alone);
the taxonomy has 21 themes, 18 agencies and 5 boroughs. Decision 0007 says why and what to
do if a facet ever outgrows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from service.taxonomy import FACETS, Facet
from subscribers.subscriptions.models import CodeBit, Subscriber

MAX_BITS = 63
Bits = dict[tuple[str, str], int]

MASK: dict[Facet, InstrumentedAttribute[int]] = {
    "themes": Subscriber.themes_mask,
    "agencies": Subscriber.agencies_mask,
    "boroughs": Subscriber.boroughs_mask,
}


class TooManyCodes(RuntimeError):
    """A facet has used up its 63 bits."""


async def load(session: AsyncSession) -> Bits:
    """Every code's bit: a few dozen rows."""
    rows = await session.execute(select(CodeBit.facet, CodeBit.code, CodeBit.bit))
    return {(facet, code): bit for facet, code, bit in rows}


def mask(bits: Bits, facet: str, codes: Iterable[str]) -> int:
    """The OR of the codes' bits; a code nobody has chosen has no bit and adds nothing."""
    found = 0
    for code in codes:
        bit = bits.get((facet, code))
        if bit is not None:
            found |= 1 << bit
    return found


def shares_a_bit(facet: Facet, brief_mask: int) -> ColumnElement[bool]:
    """The subscriber left ``facet`` empty, or chose one of the brief's codes."""
    column = MASK[facet]
    return or_(column == 0, column.bitwise_and(brief_mask) != 0)


async def allocate(session: AsyncSession, chosen: Mapping[Facet, Iterable[str]]) -> Bits:
    """Every code's bit, giving the next free bit of its facet to any chosen code without
    one. Needs a write transaction; two at once never give one bit to two codes."""
    bits = await load(session)
    missing = [(f, c) for f in FACETS for c in chosen.get(f, ()) if (f, c) not in bits]
    if not missing:
        return bits
    if session.get_bind().dialect.name == "postgresql":
        # SQLite's write lock already serialises this; PostgreSQL needs a lock of its own.
        await session.execute(select(func.pg_advisory_xact_lock(0x1EA2_B175)))
        bits = await load(session)
    for facet, code in dict.fromkeys(missing):
        if (facet, code) in bits:
            continue
        used = [b for (f, _), b in bits.items() if f == facet]
        bit = max(used, default=-1) + 1
        if bit >= MAX_BITS:
            raise TooManyCodes(
                f"the {facet} facet has used all {MAX_BITS} bits of a subscriber's filter "
                "mask: see docs/decisions/0007-matching-with-filter-masks.md"
            )
        session.add(CodeBit(facet=facet, code=code, bit=bit))
        bits[(facet, code)] = bit
    await session.flush()
    return bits
