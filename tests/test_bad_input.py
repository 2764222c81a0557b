"""Every bad input gets a 4xx naming what was wrong, never a 500 (issue 16, finding 2).

The JSON API answers with the contract's error shape; the pages with the HTML error page.
Each case here was a 500 before its fix, on SQLite, on PostgreSQL, or on both.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from learnhub.keys import links_key
from service.settings import Settings
from service.staff.models import StaffMember, StaffSession
from service.staff.service import hash_token
from subscribers.subscriptions import service as subscribers
from tests.briefs_data import brief_body
from tests.conftest import Clock

HUGE = "99999999999999999999"  # past SQLite's 64 bits
INT32 = "2147483648"  # past PostgreSQL's integer
HTML = {"Accept": "text/html"}
FORM = "application/x-www-form-urlencoded"


async def _json_error(response: Any, status: int) -> dict[str, Any]:
    body = await response.json()
    assert response.status == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


async def _html_error(response: Any, status: int) -> str:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/html", text
    assert "govuk-heading-l" in text or "govuk-heading-xl" in text
    return text


async def _form_page(client: TestClient, path: str) -> tuple[str, dict[str, str]]:
    """The CSRF field of the page's form, and headers that send its cookie back (the test
    app's cookies are Secure, and the test client speaks plain http)."""
    page = await client.get(path, headers=HTML)
    assert page.status == 200, await page.text()
    csrf = (await page.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return csrf, {**HTML, "Cookie": f"lh_csrf={page.cookies['lh_csrf'].value}"}


async def _group(client: TestClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/groups", json={"name": "Sefton GPs", **fields}, headers=admin
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


# Integers past the database's range --------------------------------------------------------


GROUP_ROUTES = [
    ("GET", "/api/v1/groups/{id}", None),
    ("PATCH", "/api/v1/groups/{id}", {"name": "x"}),
    ("POST", "/api/v1/groups/{id}/members", {"email": "gp@nhs.net"}),
    ("DELETE", "/api/v1/groups/{id}/members/gp@nhs.net", None),
    ("POST", "/api/v1/groups/{id}/feed-token", None),
    ("DELETE", "/api/v1/groups/{id}/feed-token", None),
]


@pytest.mark.parametrize("number", [HUGE, INT32, "0"])
@pytest.mark.parametrize(("method", "path", "body"), GROUP_ROUTES)
async def test_group_ids_past_the_integer_range_are_404_naming_the_id(
    client: TestClient,
    admin: dict[str, str],
    method: str,
    path: str,
    body: Any,
    number: str,
) -> None:
    response = await client.request(method, path.format(id=number), json=body, headers=admin)
    error = await _json_error(response, 404)
    assert number in error["message"]


async def test_the_largest_group_id_is_still_an_id(
    client: TestClient, admin: dict[str, str]
) -> None:
    error = await _json_error(await client.get("/api/v1/groups/2147483647", headers=admin), 404)
    assert error["code"] == "not_found"


async def _console(sessions: async_sessionmaker[AsyncSession], admin: Any, now: Any) -> str:
    """The cookie of a console session of the admin behind the ``admin`` fixture."""
    token = secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        staff = await session.scalar(select(StaffMember).where(StaffMember.role == "admin"))
        assert staff is not None
        session.add(
            StaffSession(
                token_hash=hash_token(token), staff_id=staff.id, created_at=now, last_seen_at=now
            )
        )
    return f"lh_staff={token}"


@pytest.mark.parametrize("number", [HUGE, INT32])
async def test_console_group_pages_past_the_integer_range_are_404(
    client: TestClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    number: str,
) -> None:
    cookie = await _console(sessions, admin, clock())
    response = await client.get(f"/staff/groups/{number}", headers={**HTML, "Cookie": cookie})
    await _html_error(response, 404)


@pytest.mark.parametrize("page", [HUGE, INT32 + "0", "-1", "0", "two"])
async def test_site_pages_past_the_range_are_400_naming_page(client: TestClient, page: str) -> None:
    text = await _html_error(await client.get(f"/?page={page}", headers=HTML), 400)
    assert "page" in text.lower()


async def test_a_far_page_within_range_is_an_empty_page(client: TestClient) -> None:
    assert (await client.get("/?page=100000", headers=HTML)).status == 200


async def test_the_manage_form_refuses_a_group_that_is_not_a_number(
    client: TestClient, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    async with sessions.begin() as session:
        person = await subscribers.get_or_create(session, "gp@nhs.net", clock())
        manage = client.app[links_key].manage(person).partition("/subscriptions/")[2]
    path = f"/subscriptions/{manage}"
    csrf, headers = await _form_page(client, path)
    for group in ("one", HUGE, ""):
        data = {"csrf_token": csrf, "action": "leave", "group": group}
        text = await _html_error(await client.post(path, data=data, headers=headers), 400)
        assert "group must be a whole number" in text.lower()


async def test_the_brief_editor_refuses_a_year_past_any_calendar(
    client: TestClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    cookie = await _console(sessions, admin, clock())
    page = await client.get("/staff/briefs/new", headers={**HTML, "Cookie": cookie})
    csrf = (await page.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    headers = {**HTML, "Cookie": f"{cookie}; lh_csrf={page.cookies['lh_csrf'].value}"}
    fields = {
        "csrf_token": csrf,
        "title": "Baby T",
        "summary": "Safer sleep.",
        "learning_points": "Ask where the baby sleeps.",
        "source_review": "Baby T",
        "source_board": "Sefton Safeguarding Children Partnership",
        **{"source_day": "1", "source_month": "1", "source_year": HUGE},
    }
    response = await client.post("/staff/briefs/new", data=fields, headers=headers)
    assert response.status == 422, await response.text()


# Explicit nulls where a column can't be null -----------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["name", "description", "themes", "agencies", "boroughs", "frequency", "practitioners_only"],
)
async def test_patch_group_refuses_null_for_a_field_that_cannot_be_null(
    client: TestClient, admin: dict[str, str], field: str
) -> None:
    group = await _group(client, admin)
    response = await client.patch(
        f"/api/v1/groups/{group['id']}", json={field: None}, headers=admin
    )
    error = await _json_error(response, 422)
    assert [d["field"] for d in error["details"]] == [field]
    after = await (await client.get(f"/api/v1/groups/{group['id']}", headers=admin)).json()
    assert after == group


async def test_patch_group_null_clears_borough_and_agency(
    client: TestClient, admin: dict[str, str]
) -> None:
    group = await _group(client, admin, borough="sefton", agency="health")
    response = await client.patch(
        f"/api/v1/groups/{group['id']}", json={"borough": None, "agency": None}, headers=admin
    )
    body = await response.json()
    assert response.status == 200, body
    assert (body["borough"], body["agency"]) == (None, None)


# Form bodies that can't be read ------------------------------------------------------------

BAD_FORMS = {
    "not UTF-8": (b"email=\xff\xfe@nhs.net", FORM),
    "unknown charset": (b"email=gp@nhs.net", f"{FORM}; charset=klingon"),
    "multipart without boundary": (b"email=gp@nhs.net", "multipart/form-data"),
    "multipart, wrong boundary": (
        b'--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\ngp@nhs.net\r\n--xyz--\r\n',
        "multipart/form-data; boundary=abc",
    ),
    "multipart, unknown transfer encoding": (
        b'--abc\r\nContent-Disposition: form-data; name="email"\r\n'
        b"Content-Transfer-Encoding: rot13\r\n\r\ntc@au.arg\r\n--abc--\r\n",
        "multipart/form-data; boundary=abc",
    ),
    "multipart field not UTF-8": (
        b'--abc\r\nContent-Disposition: form-data; name="email"\r\n\r\n\xff\xfe\r\n--abc--\r\n',
        "multipart/form-data; boundary=abc",
    ),
}
FORM_ROUTES = ["/subscribe", "/staff/sign-in", "/practitioners/sign-in", "/unsubscribe/x.y.z"]


@pytest.mark.parametrize("path", FORM_ROUTES)
@pytest.mark.parametrize("case", sorted(BAD_FORMS))
async def test_unreadable_form_bodies_are_400_pages(
    client: TestClient, path: str, case: str
) -> None:
    body, content_type = BAD_FORMS[case]
    response = await client.post(path, data=body, headers={"Content-Type": content_type})
    text = await _html_error(response, 400)
    assert "form" in text


# NUL characters ----------------------------------------------------------------------------


async def test_nul_in_a_group_description_is_422_naming_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/groups", json={"name": "G", "description": "a\x00b"}, headers=admin
    )
    error = await _json_error(response, 422)
    assert [d["field"] for d in error["details"]] == ["description"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/staff", {"email": "a\x00b@nhs.net", "role": "publisher"}, "email"),
        ("/api/v1/groups", {"name": "G\x00"}, "name"),
        ("/api/v1/tagging/suggest", {"text": "neglect\x00"}, "text"),
        ("/api/v1/groups", {"name": "G", "themes": ["neglect\x00"]}, "themes"),
    ],
)
async def test_nul_in_any_json_string_is_422_naming_the_field(
    client: TestClient, admin: dict[str, str], path: str, body: Any, field: str
) -> None:
    error = await _json_error(await client.post(path, json=body, headers=admin), 422)
    assert field in {d["field"].split(".")[0] for d in error["details"]}


async def test_nul_in_the_api_query_is_400_naming_it(client: TestClient) -> None:
    error = await _json_error(await client.get("/api/v1/briefs?q=a%00b"), 400)
    assert "q" in str(error["details"])


async def test_nul_in_a_path_parameter_is_400_naming_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    group = await _group(client, admin)
    response = await client.delete(
        f"/api/v1/groups/{group['id']}/members/a%00b@nhs.net", headers=admin
    )
    error = await _json_error(response, 400)
    assert "email" in str(error)


async def test_nul_in_the_site_search_is_a_400_page_naming_it(client: TestClient) -> None:
    text = await _html_error(await client.get("/?q=a%00b", headers=HTML), 400)
    assert "q" in text


@pytest.mark.parametrize("path", ["/staff/sign-in", "/practitioners/sign-in", "/subscribe"])
async def test_nul_in_a_form_field_is_a_400_page_naming_it(client: TestClient, path: str) -> None:
    csrf, headers = await _form_page(client, path)
    data = {"csrf_token": csrf, "email": "gp\x00@nhs.net"}
    text = await _html_error(await client.post(path, data=data, headers=headers), 400)
    assert "email" in text


# Past aiohttp's limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/api/v1/briefs?q=" + "a" * 9000, {}), ("/api/v1/briefs", {"X-Big": "a" * 9000})],
)
async def test_request_lines_and_headers_past_the_limits_are_400(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    """aiohttp's parser answers these itself, before any application code runs (see the
    README's "Bad input"): a 400, never a 500, but in aiohttp's plain text."""
    async with ClientSession() as session:
        response = await session.get(client.make_url(path), headers=headers)
        assert response.status == 400
        assert "Traceback" not in await response.text()


# Bytes that are not UTF-8 in headers and cookies ------------------------------------------


async def _raw_status(client: TestClient, path: str, header: bytes) -> int:
    """The status of a GET whose ``header`` line is sent as raw bytes (aiohttp's client only
    sends text), read straight off the socket."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n\r\n"
                 % (path.encode(), header))  # fmt: skip
    await writer.drain()
    line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("path", "header", "status"),
    [
        ("/api/v1/groups", b"Authorization: Bearer lh_\xff", 401),
        ("/staff/briefs", b"Cookie: lh_staff=a\xff", 303),
        ("/", b"Cookie: lh_practitioner=a\xff", 200),
        ("/subscribe", b"Cookie: lh_csrf=" + b"\xff" * 43, 200),
        ("/feeds/groups/%FF.atom", b"Accept: */*", 404),
    ],
)
async def test_undecodable_tokens_are_tokens_that_match_nothing(
    client: TestClient, path: str, header: bytes, status: int
) -> None:
    assert await _raw_status(client, path, header) == status


async def test_metrics_token_that_is_not_utf8_is_refused(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: Any
) -> None:
    secret = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    guarded = await aiohttp_client(create_app(secret, clock=clock))
    assert await _raw_status(guarded, "/metrics", b"Authorization: Bearer \xff") == 404


async def test_a_csrf_field_beyond_ascii_is_refused_not_a_crash(client: TestClient) -> None:
    _csrf, headers = await _form_page(client, "/subscribe")
    data = {"csrf_token": "é" * 64, "email": "gp@nhs.net"}
    await _html_error(await client.post("/subscribe", data=data, headers=headers), 403)


async def test_staff_sign_in_refuses_an_address_longer_than_any_address(
    client: TestClient,
) -> None:
    """320 characters at most (RFC 5321), as the column: longer was a 500 on PostgreSQL."""
    csrf, headers = await _form_page(client, "/staff/sign-in")
    data = {"csrf_token": csrf, "email": "a" * 400 + "@merseyside.police.uk"}
    response = await client.post("/staff/sign-in", data=data, headers=headers)
    assert response.status == 422, await response.text()
    assert "Enter your work email address" in await response.text()


async def test_a_group_name_longer_than_its_column_is_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    """The column holds 200 characters: 201 to 300 passed as a Line and were a 500 on
    PostgreSQL."""
    name = "Sefton " + "g" * 200
    error = await _json_error(
        await client.post("/api/v1/groups", json={"name": name}, headers=admin), 422
    )
    assert [d["field"] for d in error["details"]] == ["name"]
    group = await _group(client, admin)
    response = await client.patch(
        f"/api/v1/groups/{group['id']}", json={"name": name}, headers=admin
    )
    assert [d["field"] for d in (await _json_error(response, 422))["details"]] == ["name"]


async def test_a_source_url_longer_than_its_column_is_422(
    client: TestClient, publisher: dict[str, str]
) -> None:
    body = brief_body()
    body["source"]["url"] = "https://example.org/" + "r" * 2000
    response = await client.post("/api/v1/briefs", json=body, headers=publisher)
    error = await _json_error(response, 422)
    assert [d["field"] for d in error["details"]] == ["source.url"]
