"""The console's briefs: lists, the editor with tag review, previews and the lifecycle moves.

Every move runs in one transaction through the brief service, recorded against the signed-in
member of staff; the dispatcher is woken after the commit, as the JSON API does.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from handlers.console import previews
from handlers.console.common import page, see_other, staff_key, staff_only
from handlers.console.editor import EditorForm, form_errors, highlighted, suggest, tag_rows
from handlers.pages import labels
from learnhub.keys import clock_key, dispatcher_key, readonly_key, sessions_key, tagging_key
from service.briefs import queries
from service.briefs import service as briefs
from service.briefs.models import Brief, Status
from service.briefs.schemas import BriefCreate, BriefUpdate, LifecycleRequest, WithdrawRequest
from service.errors import Invalid
from service.mail.queries import sent_counts

routes = web.RouteTableDef()
ID = "{id:[0-9a-fA-F-]{32,36}}"
DONE = {
    "created": "The draft has been saved.",
    "saved": "Your changes have been saved.",
    "published": "The brief has been published. Subscribers are being told.",
    "updated": "The update has been published. Subscribers are being told again.",
    "withdrawn": "The brief has been withdrawn. Subscribers who had it are being told.",
    "restored": "The brief is a draft again. Edit it, then publish it.",
}
MOVES: dict[str, dict[str, Any]] = {
    "publish": {
        "move": briefs.publish,
        "done": "published",
        "button": "Publish brief",
        "explain": "Subscribers whose choices match get an email, at once or in their next "
        "digest, and the brief appears on the site and in feeds unless it is restricted.",
    },
    "withdraw": {
        "move": briefs.withdraw,
        "done": "withdrawn",
        "button": "Withdraw brief",
        "warning": True,
        "explain": "The brief leaves the site and the feeds at once. Emails not yet sent are "
        "held back (digests go without it), and people who were sent it are told it has been "
        "withdrawn. Its page says it was withdrawn, when, and the public reason you give.",
    },
    "restore": {
        "move": briefs.restore,
        "done": "restored",
        "button": "Restore as a draft",
        "explain": "The brief becomes a draft again. Nobody is told until you publish it.",
    },
}


def _id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


@routes.get("/staff/briefs")
@staff_only()
async def brief_lists(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        found = await queries.by_last_change(session)
        sent = await sent_counts(session, [b.id for b in found])
    lists = {status.value: [b for b in found if b.status == status] for status in Status}
    return page("console/briefs.html", request, {"lists": lists, "sent": sent})


@routes.get("/staff/briefs/new")
@staff_only()
async def new_brief(request: web.Request) -> web.Response:
    return _editor(request, EditorForm(), brief=None)


@routes.post("/staff/briefs/new")
@staff_only()
async def create_brief(request: web.Request) -> web.Response:
    post = await request.post()
    form = EditorForm.parse(post)
    tagging = request.app[tagging_key]
    suggestions = suggest(tagging.tagger, form)
    if post.get("action") == "suggest":
        form.take_suggestions(suggestions)
        return _editor(request, form, brief=None)
    try:
        data = BriefCreate.model_validate({**form.fields(), **form.facets_for_create(suggestions)})
        async with request.app[sessions_key].begin() as session:
            brief = await briefs.create(
                session,
                data,
                staff=request[staff_key],
                tagging=tagging,
                now=request.app[clock_key](),
            )
    except (ValidationError, Invalid) as exc:
        return _editor(request, form, brief=None, errors=_errors(exc))
    return see_other(f"/staff/briefs/{brief.id}?done=created")


@routes.get(f"/staff/briefs/{ID}")
@staff_only()
async def show_brief(request: web.Request) -> web.Response:
    brief_id = _id(request)
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, brief_id)
        history = await briefs.history(session, brief_id)
        sent = await sent_counts(session, [brief_id])
    context = {
        "brief": brief,
        "tags": labels(brief, request.app[tagging_key].taxonomy),
        "history": history,
        "sent": sent.get(brief_id, 0),
        "done": DONE.get(request.query.get("done", ""), ""),
    }
    return page("console/brief.html", request, context)


@routes.get(f"/staff/briefs/{ID}/edit")
@staff_only()
async def edit_brief(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, _id(request))
    form = EditorForm.of(brief)
    form.suggested = _keys(suggest(request.app[tagging_key].tagger, form))
    return _editor(request, form, brief=brief)


@routes.post(f"/staff/briefs/{ID}/edit")
@staff_only()
async def update_brief(request: web.Request) -> web.Response:
    post = await request.post()
    form = EditorForm.parse(post)
    app = request.app
    async with app[readonly_key]() as session:
        brief = await briefs.get(session, _id(request))
    suggestions = suggest(app[tagging_key].tagger, form)
    if post.get("action") == "suggest":
        form.take_suggestions(suggestions)
        return _editor(request, form, brief=brief)
    significant = form.significant and brief.status == Status.published
    fields = {**form.fields(), **form.facets_for_update(brief), "significant": significant}
    fields["change_note"] = form.change_note or None
    try:
        data = BriefUpdate.model_validate(fields)
        if significant and post.get("confirmed") != "yes":
            # A significant update emails people again: one more look before it goes.
            hidden = [(k, str(v)) for k, v in post.items() if k not in ("csrf_token", "action")]
            context = {"brief": brief, "hidden": hidden, "note": form.change_note}
            return page("console/confirm_update.html", request, context)
        async with app[sessions_key].begin() as session:
            brief = await briefs.update(
                session,
                brief.id,
                data,
                staff=request[staff_key],
                tagging=app[tagging_key],
                now=app[clock_key](),
            )
    except (ValidationError, Invalid) as exc:
        return _editor(request, form, brief=brief, errors=_errors(exc))
    app[dispatcher_key].wake()
    return see_other(f"/staff/briefs/{brief.id}?done={'updated' if significant else 'saved'}")


def _keys(suggestions: Any) -> set[str]:
    return {f"{f}:{c}" for f in ("themes", "agencies", "boroughs") for c in suggestions.codes(f)}


def _errors(exc: ValidationError | Invalid) -> dict[str, str]:
    if isinstance(exc, Invalid):
        return {"themes": "Choose tags from the lists"}
    return form_errors(exc)


def _editor(
    request: web.Request,
    form: EditorForm,
    *,
    brief: Brief | None,
    errors: dict[str, str] | None = None,
) -> web.Response:
    tagging = request.app[tagging_key]
    suggestions = suggest(tagging.tagger, form)
    context = {
        "form": form,
        "brief": brief,
        "errors": errors or {},
        "error_summary": errors or {},
        "facets": tag_rows(form, suggestions, tagging.taxonomy),
        "highlighted": highlighted(form.text(), suggestions) if form.reviewed else [],
        "suggested": " ".join(sorted(form.suggested)),
        "action": f"/staff/briefs/{brief.id}/edit" if brief else "/staff/briefs/new",
    }
    return page("console/editor.html", request, context, status=422 if errors else 200)


def _lifecycle_page(name: str) -> None:
    spec = MOVES[name]

    @routes.get(f"/staff/briefs/{ID}/{name}")
    @staff_only()
    async def confirm(request: web.Request) -> web.Response:
        async with request.app[readonly_key]() as session:
            brief = await briefs.get(session, _id(request))
        context = {"brief": brief, "name": name, "warning": False, **spec,
                   "errors": {}, "given": {}}  # fmt: skip
        return page("console/lifecycle.html", request, context)

    @routes.post(f"/staff/briefs/{ID}/{name}")
    @staff_only()
    async def move(request: web.Request) -> web.Response:
        app = request.app
        form = await request.post()
        fields = {key: str(form.get(key, "")).strip() or None for key in ("note", "reason")}
        if name != "withdraw":
            del fields["reason"]
        model = WithdrawRequest if name == "withdraw" else LifecycleRequest
        try:
            given = model.model_validate(fields).model_dump()
        except ValidationError as exc:
            # The same rules as the API: no control characters, bounded lengths.
            async with app[readonly_key]() as session:
                brief = await briefs.get(session, _id(request))
            errors = {str(e["loc"][0]): _sentence(e["msg"]) for e in exc.errors() if e["loc"]}
            context = {"brief": brief, "name": name, "warning": False, **spec,
                       "errors": errors, "error_summary": errors, "given": fields}  # fmt: skip
            return page("console/lifecycle.html", request, context, status=422)
        async with app[sessions_key].begin() as session:
            brief = await spec["move"](
                session, _id(request), staff=request[staff_key], now=app[clock_key](), **given
            )
        app[dispatcher_key].wake()
        return see_other(f"/staff/briefs/{brief.id}?done={spec['done']}")


def _sentence(message: str) -> str:
    """A pydantic message as a sentence for the form: "Value error, must not…" -> "Must not…"."""
    text = message.removeprefix("Value error, ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


for _name in MOVES:
    _lifecycle_page(_name)


@routes.get(f"/staff/briefs/{ID}/preview/email")
@staff_only()
async def preview_email(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, _id(request))
    context = {"brief": brief, **previews.email(request, brief, request[staff_key])}
    return page("console/preview_email.html", request, context)


@routes.get(f"/staff/briefs/{ID}/preview/feed")
@staff_only()
async def preview_feed(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, _id(request))
    context = {"brief": brief, **previews.feed(request, brief)}
    return page("console/preview_feed.html", request, context)
