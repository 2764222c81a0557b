"""Making briefs through the JSON API, as a publisher would, and other helpers of the web tests."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.practitioners.models import PractitionerSession
from service.staff.service import hash_token
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


async def practitioner_cookie(
    sessions: async_sessionmaker[AsyncSession], email: str, now: datetime
) -> dict[str, str]:
    """Headers of a practitioner signed in as ``email``, for tests that are not about signing
    in (tests/web/test_practitioners.py goes through the emailed link)."""
    token = secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        session.add(
            PractitionerSession(
                token_hash=hash_token(token), email=email, created_at=now, last_seen_at=now
            )
        )
    return {**HTML, "Cookie": f"lh_practitioner={token}"}
