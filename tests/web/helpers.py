"""Making briefs through the JSON API, as a publisher would, for the web tests."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.briefs_data import brief_body


async def publish(client: TestClient, headers: dict[str, str], **fields: Any) -> str:
    """Create and publish a brief; returns its id."""
    brief_id = await draft(client, headers, **fields)
    response = await client.post(f"/api/v1/briefs/{brief_id}/publish", headers=headers)
    assert response.status == 200, await response.text()
    return brief_id


async def draft(client: TestClient, headers: dict[str, str], **fields: Any) -> str:
    response = await client.post("/api/v1/briefs", json=brief_body(**fields), headers=headers)
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


HTML = {"Accept": "text/html"}
