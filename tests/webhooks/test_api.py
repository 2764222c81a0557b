"""Registering endpoints: admins only, bad input named field by field, the secret shown
once, private addresses refused unless the setting allows them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.webhooks.conftest import Receiver, register

ALL = ["brief.published", "brief.updated", "brief.withdrawn"]
PUBLIC = "https://hooks.partner.example/learnhub"  # does not resolve: taken, checked at send


async def _fields(response: Any) -> list[str]:
    body = await response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid", body
    return [d["field"] for d in body["error"]["details"]]


async def test_only_admins_manage_webhooks(
    client: TestClient, publisher: dict[str, str], admin: dict[str, str]
) -> None:
    body = {"url": PUBLIC, "event_types": ALL}
    for method, path in [
        ("POST", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhooks/1"),
        ("DELETE", "/api/v1/webhooks/1"),
        ("POST", "/api/v1/webhooks/1/enable"),
        ("GET", "/api/v1/webhooks/1/deliveries"),
    ]:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status == 401, path
        assert (await anonymous.json())["error"]["code"] == "unauthorized"
        refused = await client.request(method, path, json=body, headers=publisher)
        assert refused.status == 403, path
        assert (await refused.json())["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/webhooks", headers=admin)).status == 200


async def test_the_secret_is_shown_once(client: TestClient, admin: dict[str, str]) -> None:
    created = await register(
        client, admin, PUBLIC, description="Sefton CSP case system", boroughs=["sefton"]
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["status"] == "active" and created["practitioner_trusted"] is False
    one = await (await client.get(f"/api/v1/webhooks/{created['id']}", headers=admin)).json()
    listed = await (await client.get("/api/v1/webhooks", headers=admin)).json()
    assert "secret" not in one and all("secret" not in e for e in listed["items"])
    assert created["secret"] not in str(one) + str(listed)
    assert one == {k: v for k, v in created.items() if k != "secret"}


async def test_an_endpoint_is_deleted_with_its_deliveries(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = await register(client, admin, PUBLIC)
    path = f"/api/v1/webhooks/{created['id']}"
    assert (await client.delete(path, headers=admin)).status == 204
    assert (await client.get(path, headers=admin)).status == 404
    assert (await client.delete(path, headers=admin)).status == 404
    assert (await client.get(path + "/deliveries", headers=admin)).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.partner.example/x", "event_types": ALL}, "url"),
        ({"url": "javascript:alert(1)", "event_types": ALL}, "url"),
        ({"url": "hooks.partner.example/x", "event_types": ALL}, "url"),
        ({"url": "https://user:pw@hooks.partner.example/", "event_types": ALL}, "url"),
        ({"url": "https://hooks.partner.example/" + "a" * 2000, "event_types": ALL}, "url"),
        ({"url": "https://hooks.partner.example:99999/", "event_types": ALL}, "url"),
        ({"url": PUBLIC, "event_types": ["brief.deleted"]}, "event_types.0"),
        ({"url": PUBLIC, "event_types": []}, "event_types"),
        ({"url": PUBLIC}, "event_types"),
        ({"event_types": ALL}, "url"),
        ({"url": PUBLIC, "event_types": ALL, "themes": "safer-sleep"}, "themes"),
        (
            {"url": PUBLIC, "event_types": ALL, "practitioner_trusted": "yes"},
            "practitioner_trusted",
        ),
        ({"url": PUBLIC, "event_types": ALL, "secret": "mine"}, "secret"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/webhooks", json=body, headers=admin)
    assert response.status == 422, await response.text()
    assert field in await _fields(response)


async def test_unknown_taxonomy_codes_are_named(client: TestClient, admin: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/webhooks",
        json={"url": PUBLIC, "event_types": ALL, "themes": ["safer-sleep", "knitting"],
              "boroughs": ["atlantis"]},
        headers=admin,
    )  # fmt: skip
    assert response.status == 422
    body = await response.json()
    assert body["error"]["details"] == [
        {"field": "themes", "message": "unknown code 'knitting'"},
        {"field": "boroughs", "message": "unknown code 'atlantis'"},
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",  # a name, resolved: 127.0.0.1
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://224.0.0.1/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number: the resolver reads it so
        "http://0x7f.1/hook",
        "http://127.1/hook",
    ],
)
async def test_non_public_addresses_are_refused_at_registration(
    client: TestClient, admin: dict[str, str], url: str
) -> None:
    response = await client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ALL}, headers=admin
    )
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["error"]["details"][0]["field"] == "url"
    assert "public addresses only" in body["error"]["message"]


async def test_with_the_setting_a_loopback_receiver_may_be_registered(
    hooks: TestClient, admin: dict[str, str], receiver: Receiver
) -> None:
    created = await register(hooks, admin, receiver.url("/hook"))
    assert created["url"] == receiver.url("/hook")


async def test_the_openapi_description_has_the_webhook_routes(client: TestClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/v1/webhooks"]) == {"get", "post"}
    assert set(paths["/api/v1/webhooks/{id}"]) == {"get", "delete"}
    assert set(paths["/api/v1/webhooks/{id}/enable"]) == {"post"}
    assert set(paths["/api/v1/webhooks/{id}/deliveries"]) == {"get"}
    for path in [p for p in paths if p.startswith("/api/v1/webhooks")]:
        for operation in paths[path].values():
            assert operation["security"] == [{"staffToken": []}]
            assert {"401", "403"} <= set(operation["responses"])
    create = document["components"]["schemas"]["WebhookCreate"]
    assert create["required"] == ["url", "event_types"]
    fields = create["properties"]
    assert fields["event_types"]["items"]["enum"] == ALL
    assert (fields["url"]["maxLength"], fields["url"]["format"]) == (2000, "uri")
    assert "secret" in document["components"]["schemas"]["WebhookCreated"]["required"]
    assert "secret" not in document["components"]["schemas"]["WebhookOut"]["properties"]
    [cursor] = [
        p for p in paths["/api/v1/webhooks/{id}/deliveries"]["get"]["parameters"]
        if p["name"] == "cursor"
    ]  # fmt: skip
    assert cursor["schema"]["pattern"] == "^[0-9]{0,18}$"
