"""Practitioners' sign-in by an emailed one-time link, and sign-out.

The staff console's pattern (``handlers/console/auth.py``) for readers of restricted
learning: the link's GET shows a page whose button POSTs, because mail scanners open links
before people do. The session cookie is read on every page by ``handlers.reader``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from handlers.common import limit, wake_mail
from handlers.pages import render
from handlers.reader import COOKIE, delete_cookie, set_cookie
from learnhub.keys import clock_key, composer_key, readonly_key, sessions_key, settings_key
from service.errors import DomainError
from service.practitioners import sessions
from service.staff.service import normalise_email

routes = web.RouteTableDef()
SIGN_IN = "/practitioners/sign-in"


def _form(
    request: web.Request, email: str, next_path: str, error: str | None = None
) -> web.Response:
    errors = {"email": error} if error else {}
    context = {"email": email, "next": next_path, "errors": errors, "error_summary": errors}
    return render("practitioners/sign_in.html", request, context, status=422 if error else 200)


def _message(
    request: web.Request,
    heading: str,
    *paragraphs: str,
    link: tuple[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {"heading": heading, "paragraphs": paragraphs, "panel": False, "link": link}
    return render("subscriptions/message.html", request, context, status=status)


def _see_other(location: str) -> web.Response:
    """A redirect that can carry cookies (a raised HTTPSeeOther loses them in middleware)."""
    return web.Response(status=303, headers={"Location": location})


def problem_with(email: str, domains: tuple[str, ...]) -> str | None:
    """Why an address can't ask for a link, in a sentence for the form; None if it can."""
    if not email:
        return "Enter your work email address"
    try:
        address = normalise_email(email)
    except DomainError:
        return "Enter an email address in the correct format, like name@nhs.net"
    if not domains:
        return "Signing in is not open yet: no organisation's addresses have been allowed"
    if not sessions.is_practitioner(address, domains):
        domain = address.rpartition("@")[2]
        return (
            f"You can't sign in with an address at {domain}. Enter your work email address, "
            f"like name@{domains[0]}"
        )
    return None


@routes.get(SIGN_IN)
async def sign_in_form(request: web.Request) -> web.Response:
    return _form(request, "", sessions.local_path(request.query.get("next")))


@routes.post(SIGN_IN)
async def ask_for_link(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", "")).strip()
    next_path = sessions.local_path(str(form.get("next", "")))
    app = request.app
    domains = app[settings_key].practitioner_domains
    error = problem_with(email, domains)
    if error:
        return _form(request, email, next_path, error)
    await limit(request, email)
    address = normalise_email(email)
    async with app[sessions_key].begin() as session:
        await sessions.request_link(
            session, address, next_path, practitioner_domains=domains,
            composer=app[composer_key], base_url=app[settings_key].base_url, now=app[clock_key](),
        )  # fmt: skip
    wake_mail(app)
    # The same page whether or not a message was queued (a suspended address gets none).
    return _message(
        request,
        "Check your email",
        f"We have sent a sign-in link to {address}.",
        "Open the link within 15 minutes and press the button on the page. The link works "
        "once. If nothing arrives, check your junk folder.",
        link=("Ask for another link", f"{SIGN_IN}?{urlencode({'next': next_path})}"),
    )


def _link_problem(request: web.Request, problem: DomainError) -> web.Response:
    # 404, as for the staff's links: the token names nothing that can be used.
    return _message(
        request,
        "This sign-in link can't be used",
        problem.message,
        link=("Ask for a new sign-in link", SIGN_IN),
        status=404,
    )


@routes.get(SIGN_IN + "/{token}")
async def link_page(request: web.Request) -> web.Response:
    app = request.app
    try:
        async with app[readonly_key]() as session:
            link = await sessions.read_link(session, request.match_info["token"], app[clock_key]())
    except sessions.LinkProblem as problem:
        return _link_problem(request, problem)
    # A GET never signs in: mail scanners open links before people do.
    context = {
        "heading": "Sign in to read learning for practitioners",
        "paragraphs": [
            f"You are signing in as {link.email}.",
            "You stay signed in on this device until you sign out, or after 30 days without "
            "a visit. On a shared computer, sign out when you have finished.",
        ],
        "button": "Sign in",
        "action": request.path,
        "warning": False,
    }
    return render("subscriptions/button.html", request, context)


@routes.post(SIGN_IN + "/{token}")
async def sign_in(request: web.Request) -> web.Response:
    app = request.app
    try:
        async with app[sessions_key].begin() as session:
            signed_in = await sessions.sign_in(
                session, request.match_info["token"], app[clock_key]()
            )
    except sessions.LinkProblem as problem:
        return _link_problem(request, problem)
    response = _see_other(signed_in.next_path)
    set_cookie(app, response, signed_in.token)
    return response


@routes.post("/practitioners/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        async with request.app[sessions_key].begin() as session:
            await sessions.end(session, token)
    response = _see_other("/practitioners/signed-out")
    delete_cookie(response)
    return response


@routes.get("/practitioners/signed-out")
async def signed_out(request: web.Request) -> web.Response:
    return _message(request, "You have signed out", link=("Sign in again", SIGN_IN))
