"""Who may receive a restricted brief: the rule, written once."""

from __future__ import annotations

from collections.abc import Iterable


def in_domains(domain: str, practitioner_domains: Iterable[str]) -> bool:
    """Whether an address's domain is one of the listed domains or a subdomain of one."""
    domain = domain.lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in practitioner_domains)


def may_receive(
    audience: str,
    domain: str,
    practitioner_domains: Iterable[str],
    *,
    via_group: bool | None = None,
) -> bool:
    """Whether a confirmed recipient may be sent a brief of this audience.

    ``via_group`` is None for a person's own subscription, else whether the group through
    which the brief reaches them is a practitioner group. Public briefs reach everyone;
    restricted ones only addresses in the practitioner domains, and through a group only
    when an admin has marked it a practitioner group.
    """
    if audience == "public":
        return True
    if via_group is False:
        return False
    return in_domains(domain, practitioner_domains)
