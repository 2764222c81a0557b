"""Schemathesis against the app's own OpenAPI description: every operation, with positive
and negative data, no 5xx and every answer as described.

Derandomized, so a run is the same run every time; bounded, so it stays well under a
minute on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from handlers.routes import APIS
from tests.briefs_data import brief_body
from tests.fuzz.conftest import LiveServer

EXAMPLES = 20
# As the description names them: aiohttp's {id:\d+} is {id} there.
ENDPOINTS = [e for api in APIS for e in api.endpoints]
OPERATIONS = [e.method + " " + re.sub(r"{(\w+):[^}]+}", r"{\1}", e.path) for e in ENDPOINTS]
# Rules no JSON Schema can state: schema-valid data may still be refused with a 4xx here.
UNSTATED = {
    "GET /api/v1/briefs": "a cursor is opaque: only one from next_cursor, and never with q",
    "GET /api/v1/impact": "from and to are both needed, from not after to, at most 5 years apart",
    "POST /api/v1/webhooks": "the URL's host must be a valid name, with public addresses only",
}

# `format: email` allows domains every mail relay refuses (.test, .invalid, .localhost...),
# and the code refuses them too: valid addresses are generated at real domains.
schemathesis.openapi.format(
    "email", st.emails(domains=st.sampled_from(["nhs.net", "merseyside.police.uk"]))
)


# Refusals the description can't list for every operation: a body past 1 MiB (413) is
# refused before it is read, and invalid data may be refused for it.
CONFIG = {
    "checks": {
        "negative_data_rejection": {
            "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422, 429],
        },
    },
}


@pytest.fixture(scope="module")
def api_schema(live_server: LiveServer) -> Any:
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json", config=config)


@pytest.fixture(scope="module")
def http(admin_token: str) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {admin_token}"
        yield session


@pytest.fixture(scope="module")
def known(live_server: LiveServer, http: requests.Session) -> dict[str, dict[str, Any]]:
    """Ids that name something, by the start of the path: half of the examples of an
    operation on one thing use them, so that they get past the 404."""
    url = live_server.url + "/api/v1"
    group = http.post(f"{url}/groups", json={"name": "Sefton GPs", "boroughs": ["sefton"]})
    brief = http.post(f"{url}/briefs", json=brief_body())
    assert group.status_code == 201 and brief.status_code == 201, (group.text, brief.text)
    published = http.post(f"{url}/briefs", json=brief_body(title="Child R"))
    http.post(f"{url}/briefs/{published.json()['id']}/publish").raise_for_status()
    return {
        "/api/v1/groups/": {"id": group.json()["id"]},
        "/api/v1/briefs/": {"id": brief.json()["id"]},
    }


@pytest.fixture(scope="module", autouse=True)
def figures(live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[None]:
    """After the run: its figures on the terminal, and not one 5xx among all the answers
    (those of the checks' own extra requests included)."""
    yield
    counted = live_server.statuses
    errors = sum(n for status, n in counted.items() if status >= 500)
    line = (
        f"fuzz: {len(OPERATIONS)} operations, {sum(counted.values())} requests, "
        f"5xx: {errors}; by status: {dict(sorted(counted.items()))}"
    )
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)
    assert errors == 0, line


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation(
    api_schema: Any,
    http: requests.Session,
    known: dict[str, dict[str, Any]],
    operation: str,
    mode: GenerationMode,
) -> None:
    method, path = operation.split(" ", 1)
    found = api_schema[path]
    strategy = found[method].as_strategy(mode)
    seeded = next((ids for start, ids in known.items() if path.startswith(start)), None)
    if seeded is not None:
        strategy = st.one_of(strategy, found[method].as_strategy(mode, path_parameters=seeded))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(session=http, excluded_checks=excluded)

    excluded = [positive_data_acceptance] if operation in UNSTATED else []
    try:
        run()
    except Unsatisfiable:
        # Only a string path parameter: nothing of the request can be made invalid.
        assert mode == GenerationMode.NEGATIVE
        pytest.skip("nothing in this operation's request can be made invalid")
