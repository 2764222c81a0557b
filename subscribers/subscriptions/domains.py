"""Admins' map of email domains to an agency and borough, for counting deliveries to people
who did not say theirs (``merseyside.police.uk`` -> police). Functions never commit."""

from __future__ import annotations

import idna
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.tags import check_codes
from service.errors import Invalid
from service.taxonomy import Taxonomy
from subscribers.subscriptions.models import DomainAgency


def clean(domain: str) -> str:
    """The domain as addresses are stored: lower case, IDNA (ASCII) form; Invalid if not one."""
    name = domain.strip().lower().lstrip("@").rstrip(".")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        ascii_name = ""
    if "." not in ascii_name or len(ascii_name) > 255:
        raise Invalid("enter a domain such as merseyside.police.uk", {"domain": domain})
    return ascii_name


async def listed(session: AsyncSession) -> list[DomainAgency]:
    return list(await session.scalars(select(DomainAgency).order_by(DomainAgency.domain)))


async def put(
    session: AsyncSession,
    domain: str,
    agency: str | None,
    borough: str | None,
    *,
    taxonomy: Taxonomy,
) -> DomainAgency:
    """Map a domain (replacing its mapping); at least one of agency and borough is needed."""
    name = clean(domain)
    if not agency and not borough:
        raise Invalid("choose an agency, a borough or both", {"agency": None})
    check_codes(
        taxonomy,
        {"agencies": [agency] if agency else [], "boroughs": [borough] if borough else []},
    )
    row = await session.get(DomainAgency, name)
    if row is None:
        row = DomainAgency(domain=name)
        session.add(row)
    row.agency = agency or None
    row.borough = borough or None
    await session.flush()
    return row


async def remove(session: AsyncSession, domain: str) -> bool:
    result = await session.execute(delete(DomainAgency).where(DomainAgency.domain == domain))
    return bool(result.rowcount)  # type: ignore[attr-defined]
