"""An endpoint that fails for three days is disabled and the admins are emailed through
the mail queue; one that answers 410 Gone at once; an admin turns it back on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff import service as staff_service
from service.staff.models import Role
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.webhooks.conftest import Receiver, deliveries, drain, publish, register


async def _endpoint(client: TestClient, admin: dict[str, str], id_: int) -> dict[str, Any]:
    return dict(await (await client.get(f"/api/v1/webhooks/{id_}", headers=admin)).json())


async def test_three_days_of_failing_disables_the_endpoint_and_emails_the_admins(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    real_clock: Clock,
    smtp_server: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await staff_service.create(
            session, email="second.admin@merseyside.police.uk", role=Role.admin, now=real_clock()
        )
    endpoint = await register(hooks, admin, receiver.url("/broken"), description="Wirral MASH")
    receiver.always["/broken"] = 500
    await publish(hooks, publisher, title="First")
    await drain(hooks)
    started = real_clock()
    real_clock.advance(days=1)
    await publish(hooks, publisher, title="Second, while it is down")
    await drain(hooks)

    for _ in range(40):  # each attempt at its time, as the worker would make them
        state = await _endpoint(hooks, admin, endpoint["id"])
        if state["status"] == "disabled":
            break
        due = [d["next_attempt_at"] for d in await deliveries(hooks, admin, endpoint["id"])]
        real_clock.now = min(datetime.fromisoformat(d) for d in due if d)
        await drain(hooks)
    assert state["status"] == "disabled"
    failing_since = datetime.fromisoformat(state["failing_since"])
    disabled_at = datetime.fromisoformat(state["disabled_at"])
    assert failing_since == started
    assert timedelta(days=3) <= disabled_at - failing_since < timedelta(days=3, minutes=1)
    assert state["disabled_reason"] == "every attempt has failed for 3 days"
    listed = await deliveries(hooks, admin, endpoint["id"])
    assert {d["status"] for d in listed} == {"failed"}
    assert 9 <= max(d["attempts"] for d in listed) <= 12  # the spec's schedule, three days

    emails = smtp_server.messages
    assert sorted(r for m in emails for r in m.recipients) == [
        "admin@merseyside.police.uk",
        "second.admin@merseyside.police.uk",
    ]  # not the publisher
    message = emails[0].parsed()
    assert message["Subject"] == "A partner's webhook endpoint has been turned off"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert receiver.url("/broken") in text and "Wirral MASH" in text
    assert f"/api/v1/webhooks/{endpoint['id']}/enable" in text

    tries = len(receiver.got)
    await publish(hooks, publisher, title="While disabled")
    real_clock.advance(days=1)
    await drain(hooks)
    assert len(receiver.got) == tries and len(smtp_server.messages) == 2

    receiver.always["/broken"] = 200
    enabled = await hooks.post(f"/api/v1/webhooks/{endpoint['id']}/enable", headers=admin)
    assert (await enabled.json())["status"] == "active"
    await publish(hooks, publisher, title="After it was fixed")
    await drain(hooks)
    assert receiver.got[-1].json()["data"]["title"] == "After it was fixed"
    assert (await _endpoint(hooks, admin, endpoint["id"]))["failing_since"] is None


async def test_410_gone_disables_at_once(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    smtp_server: SmtpServer,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/gone"))
    receiver.answer("/gone", 410)
    await publish(hooks, publisher)
    await drain(hooks)
    state = await _endpoint(hooks, admin, endpoint["id"])
    assert state["status"] == "disabled" and "410 Gone" in state["disabled_reason"]
    [delivery] = await deliveries(hooks, admin, endpoint["id"])
    assert (delivery["status"], delivery["response_status"]) == ("failed", 410)
    assert [m.recipients for m in smtp_server.messages] == [("admin@merseyside.police.uk",)]


async def test_one_delivery_that_keeps_failing_is_given_up_after_three_days(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    real_clock: Clock,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/picky"))
    receiver.refuse[b"The one it refuses"] = 422  # this one, whenever it comes
    await publish(hooks, publisher, title="The one it refuses")
    await drain(hooks)
    for n in range(40):
        refused = (await deliveries(hooks, admin, endpoint["id"]))[-1]
        if refused["status"] != "pending":
            break
        real_clock.now = datetime.fromisoformat(refused["next_attempt_at"])
        # Another brief, due with its retry: tried first, it gets through.
        await publish(hooks, publisher, title=f"Others get through {n}")
        await drain(hooks)
    assert (refused["status"], refused["response_status"]) == ("failed", 422)
    created = datetime.fromisoformat(refused["created_at"])
    assert datetime.fromisoformat(refused["last_attempt_at"]) - created >= timedelta(days=3)
    others = (await deliveries(hooks, admin, endpoint["id"]))[:-1]
    assert {d["status"] for d in others} == {"delivered"}
    assert (await _endpoint(hooks, admin, endpoint["id"]))["status"] == "active"
