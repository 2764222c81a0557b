"""Brief bodies shared by the tests."""

from __future__ import annotations

from typing import Any


def brief_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Safer sleep and the crying baby: learning from Baby T",
        "summary": (
            "Baby T, aged ten weeks, died while co-sleeping with a parent on a sofa in Sefton. "
            "The health visitor had discussed safer sleep once, before the birth.\n\n"
            "Mother had a history of **depression**; the family did not attend two appointments."
        ),
        "learning_points": [
            "Discuss safer sleep at every contact, including the risks of sofa sharing.",
            "Ask who else lives in or visits the home, including fathers and partners.",
        ],
        "source": {
            "review": "Baby T",
            "board": "Sefton Safeguarding Children Partnership",
            "published_on": "2025-03-14",
        },
    }
    body.update(overrides)
    return body
