"""A person's own subscription: ask, confirm, change, pause, end, export, erase.

Functions take the caller's session and never commit. Answers never reveal whether an
address is known: ``request`` behaves the same, from outside, for every address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.briefs.tags import check_codes
from service.errors import Invalid
from service.practitioners import sessions as practitioners
from service.requests import worker as requests
from service.taxonomy import FACETS, Facet, Taxonomy
from subscribers.subscriptions import emails, masks
from subscribers.subscriptions.choices import Schedule, described
from subscribers.subscriptions.models import (
    Counter,
    Subscriber,
    SubscriptionCode,
    SubscriptionState,
)
from subscribers.subscriptions.schemas import SubscribeRequest, SubscriptionUpdate
from subscribers.subscriptions.tokens import Purpose, TokenProblem

# The wording a person saw when they consented; change it when the pages' wording changes.
CONSENT_VERSION = "2026-11-26"
LINK_EVERY = timedelta(minutes=10)
ERASED = "subscribers_erased"
# Anonymous counts of what retention deleted (practice.retention).
EXPIRED = "signups_expired"  # unconfirmed sign-ups, deleted after UNCONFIRMED_FOR
REMOVED = "unsubscribed_removed"  # people who unsubscribed, removed after UNSUBSCRIBED_FOR
DELETED = (ERASED, EXPIRED, REMOVED)  # every count of subscriber rows deleted
SUBSCRIBER_IDS = "subscriber_ids"  # the last id given, on SQLite (see _new_ids)
SUBSCRIBE = "subscribe"  # the kinds of link request (learnhub.requests)
LOST = "lost-link"


CHUNK = 500  # addresses in one IN list


async def by_email(session: AsyncSession, email: str) -> Subscriber | None:
    return await session.scalar(select(Subscriber).where(Subscriber.email == email))


async def by_token(
    session: AsyncSession, mail: emails.Mail, token: str, purpose: Purpose, *, lock: bool = False
) -> Subscriber:
    claims = mail.links.tokens.read(token, purpose)
    query = select(Subscriber).where(Subscriber.id == claims.subscriber_id)
    subscriber = await session.scalar(query.with_for_update() if lock else query)
    if subscriber is None or subscriber.token_version != claims.version:
        raise TokenProblem(
            "This link no longer works. The subscription may have been erased, or the links "
            "replaced by newer ones. You can subscribe again at any time."
        )
    return subscriber


async def get_or_create(session: AsyncSession, email: str, now: datetime) -> Subscriber:
    subscriber = await by_email(session, email)
    if subscriber is None:
        subscriber = _new(session, email, now, (await _new_ids(session, 1))[0])
        await session.flush()
    return subscriber


async def get_or_create_many(
    session: AsyncSession, addresses: Sequence[str], now: datetime
) -> dict[str, Subscriber]:
    """``get_or_create`` for many addresses at once: one read, one flush."""
    found: dict[str, Subscriber] = {}
    for start in range(0, len(addresses), CHUNK):
        chunk = addresses[start : start + CHUNK]
        rows = await session.scalars(select(Subscriber).where(Subscriber.email.in_(chunk)))
        found.update((s.email, s) for s in rows)
    new = [email for email in dict.fromkeys(addresses) if email not in found]
    for email, new_id in zip(new, await _new_ids(session, len(new)), strict=True):
        found[email] = _new(session, email, now, new_id)
    await session.flush()
    return found


def _new(session: AsyncSession, email: str, now: datetime, new_id: int | None) -> Subscriber:
    """A person known by their address only: no subscription of their own, yet."""
    subscriber = Subscriber(
        id=new_id,
        email=email,
        domain=email.rsplit("@", 1)[1],
        created_at=now,
        status=SubscriptionState.none.value,
        token_version=1,
        codes=[],
        memberships=[],
    )
    session.add(subscriber)
    return subscriber


async def _new_ids(session: AsyncSession, count: int) -> list[int | None]:
    """Ids no subscriber has ever had, on SQLite; None lets PostgreSQL's sequence choose.

    Links carry the subscriber's id and token version. SQLite gives a deleted row's id to
    the next row (a table without AUTOINCREMENT), and the version starts again at 1: an
    erased person's old links would open the next person's subscription. So ids come from a
    counter that only grows. Started late, it starts above every id that can have existed:
    ids are handed out in order, and each one above today's highest was erased.
    """
    if session.get_bind().dialect.name != "sqlite":
        return [None] * count  # a sequence never gives a number twice
    counter = await session.get(Counter, SUBSCRIBER_IDS)
    if counter is None:
        highest = await session.scalar(select(func.max(Subscriber.id))) or 0
        deleted = await session.scalar(
            select(func.coalesce(func.sum(Counter.value), 0)).where(Counter.name.in_(DELETED))
        )
        counter = Counter(name=SUBSCRIBER_IDS, value=highest + (deleted or 0))
        session.add(counter)
    first = counter.value + 1
    counter.value += count
    return list(range(first, first + count))


async def ask(
    session: AsyncSession, data: SubscribeRequest, *, taxonomy: Taxonomy, now: datetime
) -> None:
    """Check a request to subscribe and record it; ``request`` is its work, done afterwards
    (service.requests), so that the answer costs the same for every address."""
    check_codes(taxonomy, {facet: getattr(data, facet) for facet in FACETS})
    check_about(taxonomy, data.my_agency, data.my_borough)
    payload = data.model_dump(mode="json", exclude={"email"})
    await requests.ask(session, SUBSCRIBE, data.email.lower(), payload, now)


async def request(
    session: AsyncSession,
    data: SubscribeRequest,
    *,
    mail: emails.Mail,
    taxonomy: Taxonomy,
    schedule: Schedule,
    now: datetime,
) -> None:
    """Start (or restart) a subscription, or send the manage link to a current subscriber.

    A pending subscription takes the newest choices at once, even when the ten-minute limit
    sends no second email: the link already sent confirms what was asked for last (its page
    shows them)."""
    chosen = {facet: getattr(data, facet) for facet in FACETS}
    check_codes(taxonomy, chosen)
    check_about(taxonomy, data.my_agency, data.my_borough)
    subscriber = await get_or_create(session, data.email.lower(), now)
    active = subscriber.status == SubscriptionState.active
    if not active:
        # Nothing reaches the person until they confirm: the request only waits for them.
        subscriber.status = SubscriptionState.pending.value
        subscriber.frequency = data.frequency
        await set_filters(session, subscriber, chosen)
        about(subscriber, data.my_agency, data.my_borough, data.my_role)
    if _recently_linked(subscriber, now):
        return
    subscriber.last_link_sent_at = now
    if active:
        await emails.manage_link(session, mail, subscriber, now)
    else:
        await emails.confirm(
            session, mail, subscriber, now, described(subscriber, taxonomy, schedule)
        )


async def ask_for_link(session: AsyncSession, email: str, *, now: datetime) -> None:
    """Record a request for a lost link; ``send_lost_link`` is its work, done afterwards."""
    await requests.ask(session, LOST, email.lower(), {}, now)


async def send_lost_link(
    session: AsyncSession,
    email: str,
    *,
    mail: emails.Mail,
    taxonomy: Taxonomy,
    schedule: Schedule,
    now: datetime,
) -> None:
    """The link the person lost: the manage link to a subscriber, current or past (a past one
    may still want their data, or to erase it); the confirmation again to one who has not
    confirmed; nothing to an address we don't know. At most one link every LINK_EVERY.
    (A group member without a subscription of their own gets the manage link too.)"""
    subscriber = await by_email(session, email)
    if subscriber is None:
        return
    if _recently_linked(subscriber, now):
        return
    subscriber.last_link_sent_at = now
    if subscriber.status == SubscriptionState.pending:
        choices = described(subscriber, taxonomy, schedule)
        await emails.confirm(session, mail, subscriber, now, choices)
    else:
        await emails.manage_link(session, mail, subscriber, now)


def check_about(taxonomy: Taxonomy, agency: str | None, borough: str | None) -> None:
    """Raise Invalid for an unknown agency or borough the person says is theirs (its details
    name the fields, my_agency and my_borough)."""
    try:
        check_codes(
            taxonomy,
            {"agencies": [agency] if agency else [], "boroughs": [borough] if borough else []},
        )
    except Invalid as exc:
        names = {"agencies": "my_agency", "boroughs": "my_borough"}
        raise Invalid(exc.message, {names[k]: v for k, v in exc.details.items()}) from None


def about(
    subscriber: Subscriber, agency: str | None, borough: str | None, role: str | None
) -> None:
    """Record who the person says they are: None keeps an answer, "" clears it."""
    for name, value in (("my_agency", agency), ("my_borough", borough), ("my_role", role)):
        if value is not None:
            setattr(subscriber, name, value or None)


def _recently_linked(subscriber: Subscriber, now: datetime) -> bool:
    sent = subscriber.last_link_sent_at
    return sent is not None and now - sent < LINK_EVERY


async def set_filters(
    session: AsyncSession, subscriber: Subscriber, chosen: Mapping[Facet, list[str] | None]
) -> None:
    """Replace the facets given (None keeps a facet as it is): the codes, and their masks."""
    existing = {(c.facet, c.code): c for c in subscriber.codes}
    codes = {
        facet: subscriber.filters(facet) if given is None else list(dict.fromkeys(given))
        for facet in FACETS
        for given in [chosen.get(facet)]
    }
    subscriber.codes = [
        existing.get((facet, code)) or SubscriptionCode(facet=facet, code=code)
        for facet in FACETS
        for code in codes[facet]
    ]
    bits = await masks.allocate(session, codes)
    for facet in FACETS:
        setattr(subscriber, masks.MASK[facet].key, masks.mask(bits, facet, codes[facet]))


async def confirm(
    session: AsyncSession, mail: emails.Mail, token: str, now: datetime
) -> Subscriber:
    subscriber = await by_token(session, mail, token, Purpose.confirm, lock=True)
    if subscriber.status == SubscriptionState.pending:
        subscriber.status = SubscriptionState.active.value
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.consent_version = CONSENT_VERSION
        subscriber.consented_at = now
        subscriber.ended_at = None
    elif subscriber.status != SubscriptionState.active:
        raise TokenProblem("This subscription has ended since the link was sent. Subscribe again.")
    return subscriber


async def update(
    session: AsyncSession,
    subscriber: Subscriber,
    data: SubscriptionUpdate,
    *,
    taxonomy: Taxonomy,
    now: datetime,
) -> None:
    chosen = {facet: getattr(data, facet) for facet in FACETS}
    check_codes(taxonomy, chosen)
    check_about(taxonomy, data.my_agency, data.my_borough)
    await set_filters(session, subscriber, chosen)
    about(subscriber, data.my_agency, data.my_borough, data.my_role)
    if data.frequency is not None:
        subscriber.frequency = data.frequency
    if data.paused is not None:
        subscriber.paused_at = (subscriber.paused_at or now) if data.paused else None


def end(subscriber: Subscriber, now: datetime) -> None:
    """Stop every email: the person's own subscription, and their groups."""
    if subscriber.status in (SubscriptionState.active, SubscriptionState.pending):
        subscriber.status = SubscriptionState.ended.value
        subscriber.ended_at = now
    if subscriber.memberships:
        subscriber.left_group_at = now
    subscriber.memberships = []


async def erase(session: AsyncSession, subscriber: Subscriber) -> None:
    """Delete everything held about the person; only an anonymous count remains."""
    await remove(session, subscriber, counter=ERASED)


async def remove(session: AsyncSession, subscriber: Subscriber, *, counter: str) -> None:
    """Delete the person and their address from the mail records and sign-ins, counting it
    under ``counter`` (one of DELETED)."""
    await emails.forget(session, subscriber.email)
    await practitioners.forget(session, subscriber.email)
    await audit.forget(session, subscriber.email)
    await session.delete(subscriber)
    await count(session, counter)
    await session.flush()


async def count(session: AsyncSession, name: str, by: int = 1) -> None:
    """Add to an anonymous count."""
    counter = await session.get(Counter, name, with_for_update=True)
    if counter is None:
        session.add(Counter(name=name, value=by))
    else:
        counter.value += by
