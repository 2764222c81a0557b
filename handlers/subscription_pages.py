"""The subscriber's pages: subscribe, confirm, join, manage, erase, unsubscribe.

A GET on a link from an email never changes anything (mail scanners open every link);
each page's button POSTs. One-click unsubscribe (RFC 8058) POSTs without a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.common import limit, mail, subscription_out, wake_requests
from handlers.inputs import read_form, whole_number
from handlers.pages import render
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key, tagging_key
from practice import people
from practice.acknowledgements import service as acknowledgements
from service.briefs.queries import SINGULAR
from service.errors import Invalid
from service.taxonomy import FACETS
from subscribers.groups import service as groups
from subscribers.subscriptions import service
from subscribers.subscriptions.choices import Schedule, described
from subscribers.subscriptions.models import ROLES, Subscriber, SubscriptionState
from subscribers.subscriptions.schemas import SubscribeRequest, SubscriptionUpdate
from subscribers.subscriptions.tokens import Purpose

routes = web.RouteTableDef()
DONE = {
    "saved": "Your changes have been saved.",
    "unchanged": "You made no changes.",
    "ended": "You have unsubscribed, so there was nothing to save.",
    "left": "You have left the group.",
    "unsubscribed": "You have been unsubscribed. You will get no more emails from us.",
    "removed": "That acknowledgement has been removed.",
}


def _message(
    request: web.Request,
    heading: str,
    *paragraphs: str,
    panel: bool = False,
    link: tuple[str, str] | None = None,
    choices: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> web.Response:
    context = {
        "heading": heading,
        "paragraphs": paragraphs,
        "panel": panel,
        "link": link,
        "choices": choices,
    }
    return render("subscriptions/message.html", request, context, status=status)


def _button(
    request: web.Request,
    heading: str,
    button: str,
    *paragraphs: str,
    warning: bool = False,
    choices: Sequence[tuple[str, str]] = (),
) -> web.Response:
    context = {
        "heading": heading,
        "button": button,
        "paragraphs": paragraphs,
        "action": request.path,
        "warning": warning,
        "choices": choices,
    }
    return render("subscriptions/button.html", request, context)


ROLE_OPTIONS = [{"code": code, "label": label} for code, label in ROLES.items()]
ABOUT = ("my_agency", "my_borough", "my_role")


def _about(form: Any, *, blank: str | None) -> dict[str, str | None]:
    """What the person said about themselves: an empty choice becomes ``blank``, a field the
    form did not send None (kept as it was)."""
    return {name: (str(form[name]).strip() or blank) if name in form else None for name in ABOUT}


def _chosen(values: Any) -> dict[str, list[str]]:
    return {
        facet: values.getall(SINGULAR[facet], []) + values.getall(facet, []) for facet in FACETS
    }


@routes.get("/subscribe")
async def subscribe_form(request: web.Request) -> web.Response:
    context = {
        "errors": {},
        "email": "",
        "frequency": request.query.get("frequency", "weekly"),
        "chosen": _chosen(request.query),
        "about": dict.fromkeys(ABOUT),
        "roles": ROLE_OPTIONS,
    }
    return render("subscriptions/subscribe.html", request, context)


@routes.post("/subscribe")
async def subscribe(request: web.Request) -> web.Response:
    form = await request.post()
    chosen = _chosen(form)
    fields = {
        "email": str(form.get("email", "")).strip(),
        "frequency": form.get("frequency", "weekly"),
        **chosen,
        **_about(form, blank=None),
    }
    try:
        data = SubscribeRequest.model_validate(fields)
        await limit(request, data.email)
        app = request.app
        async with app[sessions_key].begin() as session:
            await service.ask(
                session, data, taxonomy=app[tagging_key].taxonomy, now=app[clock_key]()
            )
    except (ValidationError, Invalid) as exc:
        errors = _form_errors(exc)
        context = {
            "errors": errors,
            "error_summary": errors,
            "email": fields["email"],
            "frequency": fields["frequency"],
            "chosen": chosen,
            "about": _about(form, blank=None),
            "roles": ROLE_OPTIONS,
        }
        return render("subscriptions/subscribe.html", request, context, status=422)
    wake_requests(request.app)
    # Answered here rather than after a redirect, so that the page can name the address
    # without putting it in a URL (and so in logs and history). The same for every address.
    return _message(
        request,
        "Check your email",
        f"We have sent a link to {data.email}, if it can receive our emails.",
        "Follow the link within 7 days to confirm: nothing else is sent until you do. If "
        "nothing arrives, check your junk folder.",
        "If you ask again within 10 minutes we do not send another email: the link in the "
        "first one confirms the choices you made last. If the address already gets our "
        "emails, the link we sent lets you change them instead.",
    )


def _form_errors(exc: ValidationError | Invalid) -> dict[str, str]:
    if isinstance(exc, Invalid):
        return {name: "Choose from the options listed" for name in (exc.details or {})}
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "email"
        if field == "email" and "before the @" in error["msg"]:
            errors.setdefault(
                field,
                "Use an address with only the letters A to Z, digits and . _ - + before the @",
            )
        elif field == "email":
            errors.setdefault(
                field, "Enter an email address in the correct format, like name@nhs.net"
            )
        else:
            errors.setdefault(field, "Choose from the options listed")
    return errors


@routes.get("/subscribe/check-your-email")
async def check_email(request: web.Request) -> web.Response:
    return _message(
        request,
        "Check your email",
        "If the address can receive our emails, we have sent it a link.",
        "Follow the link within 7 days to confirm. If nothing arrives, check your junk folder.",
    )


def _choices(request: web.Request, subscriber: Subscriber) -> list[tuple[str, str]]:
    schedule = Schedule.of(request.app[settings_key])
    return described(subscriber, request.app[tagging_key].taxonomy, schedule)


@routes.get("/subscriptions/lost")
async def lost_form(request: web.Request) -> web.Response:
    return render("subscriptions/lost.html", request, {"errors": {}, "email": ""})


@routes.post("/subscriptions/lost")
async def lost(request: web.Request) -> web.Response:
    """Email a current (or past) subscriber the link to their emails: the same answer for
    every address, the work done afterwards (service.requests), rate-limited."""
    form = await request.post()
    email = str(form.get("email", "")).strip()
    try:
        data = SubscribeRequest.model_validate({"email": email})
    except ValidationError as exc:
        errors = _form_errors(exc)
        context = {"errors": errors, "error_summary": errors, "email": email}
        return render("subscriptions/lost.html", request, context, status=422)
    await limit(request, data.email)
    app = request.app
    async with app[sessions_key].begin() as session:
        await service.ask_for_link(session, data.email, now=app[clock_key]())
    wake_requests(app)
    return _message(
        request,
        "Check your email",
        f"If {data.email} gets emails from us, we have sent it a link to them. It lets you "
        "change what you get, stop it, download everything we hold about you or erase it.",
        "If nothing arrives within a few minutes, check your junk folder. We send at most one "
        "link every 10 minutes.",
        link=("Or subscribe with this address", "/subscribe"),
    )


@routes.get("/subscriptions/confirm/{token}")
async def confirm_page(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        subscriber = await _holder(request, session, Purpose.confirm)
        choices = _choices(request, subscriber)
    return _button(
        request,
        "Confirm your subscription",
        "Confirm subscription",
        "Confirm that you want emails about learning from case reviews, as you asked last:",
        choices=choices,
    )


@routes.post("/subscriptions/confirm/{token}")
async def confirm(request: web.Request) -> web.Response:
    app = request.app
    async with app[sessions_key].begin() as session:
        subscriber = await service.confirm(
            session, mail(request), request.match_info["token"], app[clock_key]()
        )
        manage = mail(request).links.manage(subscriber)
        choices = _choices(request, subscriber)
    return _message(
        request,
        "Subscription confirmed",
        "You will get:",
        panel=True,
        link=("Change what you get", manage),
        choices=choices,
    )


@routes.get("/subscriptions/join/{token}")
async def join_page(request: web.Request) -> web.Response:
    await _read(request, Purpose.membership)
    return _button(
        request,
        "Join the group",
        "Join group",
        "An administrator added you to a practitioner group. Confirm to receive its emails.",
    )


@routes.post("/subscriptions/join/{token}")
async def join(request: web.Request) -> web.Response:
    app = request.app
    async with app[sessions_key].begin() as session:
        member = await groups.confirm_join(
            session, mail(request), request.match_info["token"], app[clock_key]()
        )
        name, manage = member.group.name, mail(request).links.manage(member.subscriber)
    return _message(
        request, f"You have joined {name}", panel=True, link=("Manage your emails", manage)
    )


@routes.get("/subscriptions/manage/{token}")
async def manage_page(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        subscriber = await _holder(request, session, Purpose.manage)
        acknowledged = await acknowledgements.of_person(session, subscriber.id)
    done = request.query.get("done", "")
    if done == "unsubscribed" and subscriber.status == SubscriptionState.ended:
        done = ""  # the page itself says so
    return _manage(request, subscriber, acknowledged, saved=DONE.get(done, ""))


def _manage(
    request: web.Request,
    subscriber: Subscriber,
    acknowledged: Sequence[acknowledgements.Listed],
    *,
    saved: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "subscription": subscription_out(request, subscriber),
        "saved": saved,
        "errors": errors or {},
        "error_summary": errors or {},
        "action": request.path,
        "erase_url": f"{request.path}/erase",
        "acknowledged": acknowledged,
        "roles": ROLE_OPTIONS,
        "subscribe_again": _subscribe_again(subscriber),
    }
    return render("subscriptions/manage.html", request, context, status=status)


def _subscribe_again(subscriber: Subscriber) -> str:
    """The subscribe form with the person's last choices ticked."""
    pairs = [("frequency", subscriber.frequency)]
    pairs += [(SINGULAR[f], code) for f in FACETS for code in subscriber.filters(f)]
    return "/subscribe?" + urlencode(pairs)


def _as_saved(subscriber: Subscriber) -> tuple[object, ...]:
    """What a save of the manage form can change, to tell a save that changed nothing."""
    codes = tuple(sorted((c.facet, c.code) for c in subscriber.codes))
    about = (subscriber.my_agency, subscriber.my_borough, subscriber.my_role)
    return (subscriber.frequency, subscriber.paused_at is not None, codes, about)


@routes.post("/subscriptions/manage/{token}")
async def manage(request: web.Request) -> web.Response:
    form = await request.post()
    action = form.get("action")
    app = request.app
    async with app[sessions_key].begin() as session:
        subscriber = await _holder(request, session, Purpose.manage)
        now = app[clock_key]()
        if action == "leave":
            groups.leave(subscriber, whole_number(str(form.get("group", "")), "group"), now)
            done = "left"
        elif action == "unsubscribe":
            service.end(subscriber, now)
            done = "unsubscribed"
        elif action == "remove_acknowledgement":
            number = whole_number(str(form.get("acknowledgement", "")), "acknowledgement")
            await acknowledgements.remove(session, subscriber.id, number)
            done = "removed"
        elif subscriber.status == SubscriptionState.ended:
            # A form left open in another tab: nothing to save to; the page says why.
            done = "ended"
        else:
            fields = {
                "frequency": form.get("frequency"),
                "paused": form.get("paused") == "yes",
                **_chosen(form),
                **_about(form, blank=""),
            }
            try:
                update = SubscriptionUpdate.model_validate(fields)
                taxonomy = app[tagging_key].taxonomy
                before = _as_saved(subscriber)
                await service.update(session, subscriber, update, taxonomy=taxonomy, now=now)
            except (ValidationError, Invalid) as exc:
                acknowledged = await acknowledgements.of_person(session, subscriber.id)
                errors = _form_errors(exc)
                return _manage(request, subscriber, acknowledged, errors=errors, status=422)
            done = "unchanged" if _as_saved(subscriber) == before else "saved"
    raise web.HTTPSeeOther(f"{request.path}?done={done}")


@routes.get("/subscriptions/manage/{token}/erase")
async def erase_page(request: web.Request) -> web.Response:
    await _read(request, Purpose.manage)
    return _button(
        request,
        "Erase your data",
        "Erase my data",
        "This deletes your address, your choices and your groups. It can't be undone.",
        "We keep only an anonymous count of erasures.",
        warning=True,
    )


@routes.post("/subscriptions/manage/{token}/erase")
async def erase(request: web.Request) -> web.Response:
    async with request.app[sessions_key].begin() as session:
        await people.erase(session, await _holder(request, session, Purpose.manage))
    return _message(
        request,
        "Your data has been erased",
        "We hold nothing more about you. The links in our emails no longer work.",
    )


@routes.get("/unsubscribe/{token}")
async def unsubscribe_page(request: web.Request) -> web.Response:
    await _read(request, Purpose.unsubscribe)
    return _button(
        request,
        "Unsubscribe",
        "Unsubscribe",
        "You will get no more emails from us, from your own subscription or your groups.",
    )


@routes.post("/unsubscribe/{token}")
async def unsubscribe(request: web.Request) -> web.Response:
    form = await read_form(request)  # exempt from CSRF, so not read before
    async with request.app[sessions_key].begin() as session:
        service.end(await _holder(request, session, Purpose.unsubscribe), request.app[clock_key]())
    if form.get("List-Unsubscribe") == "One-Click":
        return web.Response(text="Unsubscribed.\n")
    return _message(
        request,
        "You have been unsubscribed",
        "You will get no more emails from us.",
        link=("Subscribe again", "/subscribe"),
    )


async def _read(request: web.Request, purpose: Purpose) -> Subscriber:
    async with request.app[readonly_key]() as session:
        return await _holder(request, session, purpose)


async def _holder(request: web.Request, session: AsyncSession, purpose: Purpose) -> Subscriber:
    return await service.by_token(session, mail(request), request.match_info["token"], purpose)
