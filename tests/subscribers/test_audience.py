"""The restricted-brief rule, as a table."""

from __future__ import annotations

import pytest

from service.briefs.audience import in_domains, may_receive

DOMAINS = ("nhs.net", "merseyside.police.uk", "knowsley.gov.uk")


@pytest.mark.parametrize(
    ("audience", "domain", "via_group", "expected"),
    [
        ("public", "gmail.com", None, True),
        ("public", "gmail.com", False, True),
        ("practitioners", "nhs.net", None, True),
        ("practitioners", "merseyside.police.uk", None, True),
        ("practitioners", "wirral.nhs.net", None, True),  # a subdomain counts
        ("practitioners", "NHS.NET", None, True),
        ("practitioners", "gmail.com", None, False),
        ("practitioners", "notnhs.net", None, False),  # a suffix is not a subdomain
        ("practitioners", "nhs.net.evil.example", None, False),
        ("practitioners", "nhs.net", True, True),  # practitioner group, practitioner address
        ("practitioners", "gmail.com", True, False),  # practitioner group, personal address
        ("practitioners", "nhs.net", False, False),  # through a group not marked practitioners
    ],
)
def test_who_may_receive_a_brief(
    audience: str, domain: str, via_group: bool | None, expected: bool
) -> None:
    assert may_receive(audience, domain, DOMAINS, via_group=via_group) is expected


def test_no_domains_means_no_one_gets_restricted_briefs() -> None:
    assert not in_domains("nhs.net", ())
    assert not may_receive("practitioners", "nhs.net", ())
