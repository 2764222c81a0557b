"""Partners' endpoints receive publications, updates and withdrawals, signed per the
Standard Webhooks specification and checked with its library; retried with the same id;
restricted briefs only to trusted endpoints; filters as subscriptions'."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import Clock
from tests.webhooks.conftest import (
    BASE,
    Receiver,
    bodies,
    deliveries,
    drain,
    publish,
    register,
    signed,
)


async def test_a_brief_s_life_reaches_the_endpoint_signed_per_the_spec(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/hooks/learnhub"))
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    brief = await publish(hooks, publisher, title="Safer sleep: Baby T", themes=["safer-sleep"])
    await drain(hooks)
    await hooks.patch(
        f"/api/v1/briefs/{brief}",
        json={"summary": "A new summary.", "significant": True, "change_note": "New findings"},
        headers=publisher,
    )
    await drain(hooks)
    await hooks.post(
        f"/api/v1/briefs/{brief}/withdraw",
        json={"reason": "Superseded by the thematic review", "note": "internal: legal advice"},
        headers=publisher,
    )
    await drain(hooks)

    published, updated, withdrawn = (signed(secret, g) for g in receiver.got)
    assert [published["type"], updated["type"], withdrawn["type"]] == [
        "brief.published",
        "brief.updated",
        "brief.withdrawn",
    ]
    data = published["data"]
    assert data == {
        "id": brief,
        "title": "Safer sleep: Baby T",
        "url": f"{BASE}/briefs/{brief}",
        "audience": "public",
        "themes": ["safer-sleep"],
        "agencies": data["agencies"],
        "boroughs": data["boroughs"],
        "revision": 1,
        "publication": 1,
        "published_at": data["published_at"],
    }
    assert datetime.fromisoformat(published["timestamp"]).tzinfo is not None
    assert (updated["data"]["revision"], updated["data"]["change_note"]) == (2, "New findings")
    assert withdrawn["data"]["reason"] == "Superseded by the thematic review"
    assert not any(b"legal advice" in g.body for g in receiver.got)
    for got in receiver.got:
        assert got.id.startswith("msg_") and "." not in got.id
        assert got.headers["Content-Type"] == "application/json"
        assert got.body == got.body.strip() and b", " not in got.body  # compact, as signed
    assert len({g.id for g in receiver.got}) == 3
    listed = await deliveries(hooks, admin, endpoint["id"])
    assert [(d["type"], d["status"], d["attempts"], d["response_status"]) for d in listed] == [
        ("brief.withdrawn", "delivered", 1, 200),
        ("brief.updated", "delivered", 1, 200),
        ("brief.published", "delivered", 1, 200),
    ]
    assert {d["message_id"] for d in listed} == {g.id for g in receiver.got}


async def test_a_failing_receiver_is_tried_again_with_the_same_id_until_it_answers(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    real_clock: Clock,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/flaky"))
    receiver.answer("/flaky", 500, 503)
    await publish(hooks, publisher)
    await drain(hooks)
    [first] = await deliveries(hooks, admin, endpoint["id"])
    assert (first["status"], first["attempts"], first["response_status"]) == ("pending", 1, 500)
    assert first["last_error"] == "HTTP 500: <h1>500</h1> not now"  # its start, kept
    due = datetime.fromisoformat(first["next_attempt_at"])
    assert 4 <= (due - real_clock()).total_seconds() <= 6  # the spec's first retry: 5 s

    real_clock.now = due
    await drain(hooks)
    [second] = await deliveries(hooks, admin, endpoint["id"])
    assert (second["attempts"], second["response_status"]) == (2, 503)
    # 5 minutes with jitter, or the 120 s its Retry-After asked for, whichever is later.
    wait = (datetime.fromisoformat(second["next_attempt_at"]) - real_clock()).total_seconds()
    assert 240 <= wait <= 360

    real_clock.now = datetime.fromisoformat(second["next_attempt_at"])
    await drain(hooks)
    [third] = await deliveries(hooks, admin, endpoint["id"])
    assert (third["status"], third["attempts"], third["response_status"]) == ("delivered", 3, 200)
    assert third["last_error"] is None
    ids = {g.id for g in receiver.at("/flaky")}
    stamps = [g.headers["webhook-timestamp"] for g in receiver.at("/flaky")]
    assert len(receiver.at("/flaky")) == 3 and ids == {third["message_id"]}
    assert len(set(stamps)) == 3  # each attempt signed anew, at its own time
    for got in receiver.at("/flaky"):
        assert signed(endpoint["secret"], got)["type"] == "brief.published"


async def test_restricted_briefs_never_reach_an_untrusted_endpoint(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
) -> None:
    trusted = await register(hooks, admin, receiver.url("/trusted"), practitioner_trusted=True)
    await register(hooks, admin, receiver.url("/open"))
    restricted = await publish(
        hooks, publisher, title="Restricted: Child Q", audience="practitioners"
    )
    public = await publish(hooks, publisher, title="Public: Baby T")
    await drain(hooks)
    await hooks.patch(
        f"/api/v1/briefs/{restricted}",
        json={"summary": "More.", "significant": True, "change_note": "Changed"},
        headers=publisher,
    )
    # Narrowed with a significant update: practitioners are told, nobody else.
    await hooks.patch(
        f"/api/v1/briefs/{public}",
        json={"audience": "practitioners", "significant": True, "change_note": "Restricted now"},
        headers=publisher,
    )
    await drain(hooks)
    await hooks.post(f"/api/v1/briefs/{restricted}/withdraw", headers=publisher)
    await drain(hooks)

    assert bodies(receiver.at("/open")) == [("brief.published", public)]
    for got in receiver.at("/open"):
        assert restricted.encode() not in got.body and b"Child Q" not in got.body
        assert b"Restricted now" not in got.body
    assert bodies(receiver.at("/trusted")) == [
        ("brief.published", restricted),
        ("brief.published", public),
        ("brief.updated", restricted),
        ("brief.updated", public),
        ("brief.withdrawn", restricted),
    ]
    told = [signed(trusted["secret"], g) for g in receiver.at("/trusted")]
    assert told[0]["data"]["audience"] == "practitioners"


async def test_narrowing_cancels_what_an_untrusted_endpoint_was_still_to_get(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    real_clock: Clock,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/down"))
    receiver.answer("/down", 502)
    brief = await publish(hooks, publisher, title="Public for a moment")
    await drain(hooks)
    await hooks.patch(
        f"/api/v1/briefs/{brief}", json={"audience": "practitioners"}, headers=publisher
    )
    await drain(hooks)
    real_clock.advance(minutes=1)
    await drain(hooks)
    assert len(receiver.at("/down")) == 1  # the first attempt only, before the narrowing
    [delivery] = await deliveries(hooks, admin, endpoint["id"])
    assert delivery["status"] == "cancelled"


async def test_a_withdrawal_cancels_the_publication_still_waiting_and_says_withdrawn(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
    real_clock: Clock,
) -> None:
    await register(hooks, admin, receiver.url("/down"))
    receiver.answer("/down", 500)
    brief = await publish(hooks, publisher, title="Published in error")
    await drain(hooks)
    await hooks.post(
        f"/api/v1/briefs/{brief}/withdraw", json={"reason": "Error"}, headers=publisher
    )
    real_clock.advance(seconds=10)
    await drain(hooks)
    assert bodies(receiver.at("/down")) == [("brief.published", brief), ("brief.withdrawn", brief)]


async def test_endpoints_get_the_event_types_and_briefs_they_asked_for(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
) -> None:
    await register(hooks, admin, receiver.url("/health"), agencies=["health"])
    await register(hooks, admin, receiver.url("/knowsley"), boroughs=["knowsley"])
    await register(hooks, admin, receiver.url("/withdrawals"), event_types=["brief.withdrawn"])
    visiting = await publish(
        hooks, publisher, title="Health visiting", agencies=["health-visiting"],
        boroughs=["sefton"],
    )  # fmt: skip
    everywhere = await publish(
        hooks, publisher, title="Merseyside", agencies=["police"], boroughs=[]
    )
    await drain(hooks)
    await hooks.post(f"/api/v1/briefs/{visiting}/withdraw", headers=publisher)
    await drain(hooks)
    # A parent code matches its children; a brief with no borough concerns every borough.
    assert bodies(receiver.at("/health")) == [
        ("brief.published", visiting),
        ("brief.withdrawn", visiting),
    ]
    assert bodies(receiver.at("/knowsley")) == [("brief.published", everywhere)]
    assert bodies(receiver.at("/withdrawals")) == [("brief.withdrawn", visiting)]


async def test_redirects_are_not_followed(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/moved"))
    receiver.always["/moved"] = 301
    await publish(hooks, publisher)
    await drain(hooks)
    assert [g.path for g in receiver.got] == ["/moved"]  # /elsewhere never asked
    [delivery] = await deliveries(hooks, admin, endpoint["id"])
    assert delivery["response_status"] == 301 and delivery["status"] == "pending"
    assert "redirects are not followed" in delivery["last_error"]


async def test_the_deliveries_list_pages_newest_first(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
) -> None:
    endpoint = await register(hooks, admin, receiver.url("/many"))
    for n in range(3):
        await publish(hooks, publisher, title=f"Brief {n}")
    await drain(hooks)
    path = f"/api/v1/webhooks/{endpoint['id']}/deliveries"
    first: Any = await (await hooks.get(path, params={"limit": "2"}, headers=admin)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest: Any = await (
        await hooks.get(path, params={"cursor": first["next_cursor"]}, headers=admin)
    ).json()
    ids = [d["id"] for d in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3 and rest["next_cursor"] is None


async def test_widening_minor_edits_and_publishing_again(
    hooks: TestClient,
    admin: dict[str, str],
    publisher: dict[str, str],
    receiver: Receiver,
) -> None:
    await register(hooks, admin, receiver.url("/open"))
    restricted = await publish(hooks, publisher, title="Child Q", audience="practitioners")
    minor = await publish(hooks, publisher, title="Child S", audience="practitioners")
    await drain(hooks)
    # A minor widening tells nobody; a significant one tells untrusted endpoints too.
    await hooks.patch(f"/api/v1/briefs/{minor}", json={"audience": "public"}, headers=publisher)
    await hooks.patch(
        f"/api/v1/briefs/{restricted}",
        json={"audience": "public", "significant": True, "change_note": "Now for everyone"},
        headers=publisher,
    )
    await hooks.patch(f"/api/v1/briefs/{restricted}", json={"summary": "Typo."}, headers=publisher)
    await drain(hooks)
    await hooks.post(f"/api/v1/briefs/{restricted}/withdraw", headers=publisher)
    await drain(hooks)
    await hooks.post(f"/api/v1/briefs/{restricted}/restore", headers=publisher)
    await hooks.post(f"/api/v1/briefs/{restricted}/publish", headers=publisher)
    await drain(hooks)
    assert bodies(receiver.at("/open")) == [
        ("brief.updated", restricted),
        ("brief.withdrawn", restricted),
        ("brief.published", restricted),
    ]
    updated, withdrawn, again = (g.json()["data"] for g in receiver.at("/open"))
    assert (updated["audience"], updated["change_note"]) == ("public", "Now for everyone")
    assert (withdrawn["publication"], again["publication"]) == (1, 2)
