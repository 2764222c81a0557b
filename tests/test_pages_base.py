"""What every page shares: the layout, HTML errors, CSRF on forms, static files."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_unknown_page_is_an_accessible_html_404(client: TestClient) -> None:
    response = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status == 404
    html = await response.text()
    assert response.content_type == "text/html"
    assert '<a href="#main-content" class="govuk-skip-link"' in html
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in html
    assert '<html lang="en-GB"' in html


async def test_a_form_post_without_the_csrf_field_is_refused(client: TestClient) -> None:
    response = await client.post("/subscribe", data={"email": "a@nhs.net"})
    assert response.status == 403
    assert "This form has expired or came from another site" in await response.text()


async def test_static_files_are_served_with_security_headers(client: TestClient) -> None:
    response = await client.get("/static/govuk/govuk-frontend.min.css")
    assert response.status == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "@font-face" not in await response.text()


async def test_a_page_without_a_form_sets_no_csrf_cookie(client: TestClient) -> None:
    """The token is made only when a form asks for it: a shared cached page must carry no
    cookie meant for someone else, and reading needs none."""
    for path in ("/", "/?q=neglect", "/taxonomy/themes", "/feeds", "/privacy"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status == 200, path
        assert "lh_csrf" not in response.cookies, path
        assert 'name="csrf_token"' not in await response.text(), path


async def test_every_form_page_still_gets_its_token(client: TestClient) -> None:
    for path in ("/subscribe", "/subscriptions/lost", "/practitioners/sign-in", "/staff/sign-in"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status == 200, path
        assert "lh_csrf" in response.cookies, path
        assert 'name="csrf_token" value="' in await response.text(), path
