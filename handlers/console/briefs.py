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
from handlers.console.copies import (
    KEPT_COOKIE,
    NEW,
    OWNER_FIELD,
    Reopened,
    keep_post,
    owner_field,
    reopen,
    saved_form,
)
from handlers.console.editor import (
    MESSAGES,
    EditorForm,
    form_errors,
    suggest,
    tag_changes,
    tag_rows,
)
from handlers.console.imports import Imported, imported
from handlers.pages import labels
from learnhub.keys import (
    clock_key,
    dispatcher_key,
    readonly_key,
    sessions_key,
    settings_key,
    tagging_key,
)
from service.briefs import queries
from service.briefs import service as briefs
from service.briefs.models import Brief, Status
from service.briefs.render import render_summary
from service.briefs.schemas import BriefCreate, BriefUpdate, LifecycleRequest, WithdrawRequest
from service.errors import Invalid
from service.mail.queries import sent_counts
from service.staff import copies
from subscribers.alerts.matching import Reach, facts_of, reach
from subscribers.alerts.notices import told_of_withdrawal_of

routes = web.RouteTableDef()
NOTHING_CHANGED = (
    "You have not changed the brief: change it, or choose no (a note alone emails nobody)"
)
ID = "{id:[0-9a-fA-F-]{32,36}}"
DONE = {
    "created": "The draft has been saved.",
    "saved": "Your changes have been saved.",
    "corrected": "Your changes have been saved. Nobody is emailed about them.",
    "published": "The brief has been published: {now} now, and it will be in {digests} next "
    "digest.",
    "updated": "The update has been published: {now} now, and it will be in {digests} next digest.",
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
    reopened = await reopen(request, saved_form(None), None)
    return _editor(request, reopened.form, brief=None, reopened=reopened)


@routes.post("/staff/briefs/new")
@staff_only(signed_out=keep_post)
async def create_brief(request: web.Request) -> web.Response:
    post = await request.post()
    form = EditorForm.parse(post)
    tagging = request.app[tagging_key]
    suggestions = suggest(tagging.tagger, form)
    if post.get("action") == "suggest":
        form.take_suggestions(suggestions)
        return _editor(request, form, brief=None)
    if post.get("action") == "tidy":
        form.tidy()
        return _editor(request, form, brief=None, tidied=True)
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
            # Saved: the working copy of the new brief's form has done its work.
            await copies.discard(session, staff_id=request[staff_key].id, path=NEW)
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
        found = await imported(session, brief_id)
    context = {
        "brief": brief,
        "imported": found,
        "tags": labels(brief, request.app[tagging_key].taxonomy),
        "history": history,
        "sent": sent.get(brief_id, 0),
        "done": _done(request.query),
    }
    return page("console/brief.html", request, context)


def _done(query: Any) -> str:
    """What the last step did, with the counts of people it reaches where it emails."""
    message = DONE.get(query.get("done", ""), "")
    if "{now}" not in message:
        return message
    try:
        now, digests = int(query.get("now", "")), int(query.get("digests", ""))
    except ValueError:
        return message.split(":", 1)[0] + "."
    if now == digests == 0:
        return message.split(":", 1)[0] + ". No subscriber's choices match it: nobody is emailed."
    emailed = f"{people(now)} {'is' if now == 1 else 'are'} being emailed"
    return message.format(now=emailed, digests=people(digests, possessive=True))


def people(count: int, *, possessive: bool = False) -> str:
    """'1 person', '1,204 people' (or "1 person's", "1,204 people's")."""
    word = "person" if count == 1 else "people"
    return f"{count:,} {word}" + ("'s" if possessive else "")


def will_happen(counted: Reach) -> str:
    """The sentence a confirmation page says before the publisher confirms."""
    if counted.now == counted.digests == 0:
        return "No subscriber's choices match it: nobody will be emailed."
    return (
        f"This will email {people(counted.now)} now and appear in "
        f"{people(counted.digests, possessive=True)} next digest."
    )


async def _reach(
    request: web.Request, session: Any, brief: Brief, *, publishing: bool = False
) -> Reach:
    """Whom publishing (or a significant update) reaches. Publishing a brief again after a
    withdrawal also tells, at once, everyone who was told of the withdrawal."""
    domains = request.app[settings_key].practitioner_domains
    back: list[int] = []
    if publishing:
        told = await told_of_withdrawal_of(
            session, brief.id, audience=brief.audience, practitioner_domains=domains
        )
        back = [person.id for person in told]
    return await reach(
        session,
        facts_of(brief),
        taxonomy=request.app[tagging_key].taxonomy,
        practitioner_domains=domains,
        back=back,
    )


async def _reached(request: web.Request, brief_id: uuid.UUID, *, publishing: bool) -> str:
    """The counts, once the brief is published or updated, for the page after."""
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, brief_id)
        counted = await _reach(request, session, brief, publishing=publishing)
    return f"now={counted.now}&digests={counted.digests}"


@routes.get(f"/staff/briefs/{ID}/edit")
@staff_only()
async def edit_brief(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, _id(request))
        found = await imported(session, brief.id, request.query)
    form = saved_form(brief)
    form.suggested = _keys(suggest(request.app[tagging_key].tagger, form))
    reopened = await reopen(request, form, brief)
    return _editor(request, reopened.form, brief=brief, imported=found, reopened=reopened)


@routes.post(f"/staff/briefs/{ID}/edit")
@staff_only(signed_out=keep_post)
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
    if post.get("action") == "tidy":
        form.tidy()
        return _editor(request, form, brief=brief, tidied=True)
    published = brief.status == Status.published
    significant = published and form.significant == "yes"
    fields = {**form.fields(), **form.facets_for_update(brief), "significant": significant}
    fields["change_note"] = (form.change_note or None) if significant else None
    try:
        data = BriefUpdate.model_validate(fields)
        if published and form.significant not in ("yes", "no"):
            # GOV.UK's major or minor change: asked every time, so that no edit tells nobody
            # by default.
            return _editor(
                request, form, brief=brief, errors={"significant": MESSAGES["significant"]}
            )
        if significant and post.get("confirmed") != "yes":
            # A significant update emails people again: one more look before it goes, with
            # whom it reaches as the brief will be once edited.
            counted = await _reach_if_updated(request, brief, data)
            if counted is None:
                errors = {"significant": NOTHING_CHANGED}
                return _editor(request, form, brief=brief, errors=errors)
            hidden = [(k, str(v)) for k, v in post.items() if k not in ("csrf_token", "action")]
            context = {
                "brief": brief,
                "hidden": hidden,
                "note": form.change_note,
                "will_happen": will_happen(counted),
            }
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
            await copies.discard(session, staff_id=request[staff_key].id, path=_edit(brief.id))
    except (ValidationError, Invalid) as exc:
        errors = _errors(exc)
        if published and form.significant not in ("yes", "no"):
            errors["significant"] = MESSAGES["significant"]
        return _editor(request, form, brief=brief, errors=errors)
    app[dispatcher_key].wake()
    if significant:
        reached = await _reached(request, brief.id, publishing=False)
        return see_other(f"/staff/briefs/{brief.id}?done=updated&{reached}")
    return see_other(f"/staff/briefs/{brief.id}?done={'corrected' if published else 'saved'}")


async def _reach_if_updated(request: web.Request, brief: Brief, data: BriefUpdate) -> Reach | None:
    """Whom the update would reach: the update made, counted, and rolled back (the tags it
    leads to are the service's, so the count is the matching's own); None if it changes
    nothing in the brief, and so would tell nobody."""
    app = request.app
    async with app[sessions_key]() as session:
        try:
            edited = await briefs.update(
                session,
                brief.id,
                data,
                staff=request[staff_key],
                tagging=app[tagging_key],
                now=app[clock_key](),
            )
            if edited.revision == brief.revision:
                return None  # nothing changed: no revision, no event, nobody emailed
            return await _reach(request, session, edited)
        finally:
            await session.rollback()


def _edit(brief_id: uuid.UUID) -> str:
    return f"/staff/briefs/{brief_id}/edit"


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
    imported: Imported | None = None,
    tidied: bool = False,
    reopened: Reopened | None = None,
) -> web.Response:
    tagging = request.app[tagging_key]
    suggestions = suggest(tagging.tagger, form)
    action = _edit(brief.id) if brief else NEW
    copy = reopened or Reopened(form)
    context = {
        "form": form,
        "brief": brief,
        "errors": errors or {},
        "error_summary": errors or {},
        "facets": tag_rows(form, suggestions, tagging.taxonomy),
        # What a save would do to an existing brief's tags, once the publisher has looked.
        "tag_changes": tag_changes(brief, form, suggestions, tagging.taxonomy)
        if brief and form.reviewed
        else [],
        "suggested": " ".join(sorted(form.suggested)),
        "action": action,
        # Nothing lost: the hidden field that lets a post be kept if the session has ended,
        # what to say of a working copy or a kept form, and where autosave posts.
        "owner_field": (OWNER_FIELD, owner_field(request, request[staff_key].id, action)),
        "copy": copy,
        "imported": imported,  # the review it was imported from, on opening the editor
        # Pasted text just tidied: the summary as readers will see it, to check the repair.
        "preview": render_summary(form.summary) if tidied and form.summary else None,
    }
    response = page("console/editor.html", request, context, status=422 if errors else 200)
    if copy.forget_kept:
        response.del_cookie(KEPT_COOKIE, path="/staff")
    return response


def _lifecycle_page(name: str) -> None:
    spec = MOVES[name]

    @routes.get(f"/staff/briefs/{ID}/{name}")
    @staff_only()
    async def confirm(request: web.Request) -> web.Response:
        async with request.app[readonly_key]() as session:
            brief = await briefs.get(session, _id(request))
            publishing = name == "publish"
            counted = await _reach(request, session, brief, publishing=True) if publishing else None
        context = {"brief": brief, "name": name, "warning": False, **spec,
                   "errors": {}, "given": {}}  # fmt: skip
        context["will_happen"] = will_happen(counted) if counted else ""
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
                publishing = name == "publish"
                counted = (
                    await _reach(request, session, brief, publishing=True) if publishing else None
                )
            errors = {str(e["loc"][0]): _sentence(e["msg"]) for e in exc.errors() if e["loc"]}
            context = {"brief": brief, "name": name, "warning": False, **spec,
                       "errors": errors, "error_summary": errors, "given": fields}  # fmt: skip
            context["will_happen"] = will_happen(counted) if counted else ""
            return page("console/lifecycle.html", request, context, status=422)
        async with app[sessions_key].begin() as session:
            brief = await spec["move"](
                session, _id(request), staff=request[staff_key], now=app[clock_key](), **given
            )
            if name == "publish":  # published: the publisher's working copy of it goes
                await copies.discard(session, staff_id=request[staff_key].id, path=_edit(brief.id))
        app[dispatcher_key].wake()
        done = f"done={spec['done']}"
        if name == "publish":
            done += f"&{await _reached(request, brief.id, publishing=True)}"
        return see_other(f"/staff/briefs/{brief.id}?{done}")


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
