"""What the route modules share: the mail a request sends, the workers woken after a commit,
the rate limit on requests that send mail, and a subscription as the API shows it.

Route modules import these rather than one another.
"""

from __future__ import annotations

from aiohttp import web

from learnhub.keys import (
    composer_key,
    limiter_key,
    links_key,
    mail_worker_key,
    requests_key,
)
from subscribers.subscriptions import emails, export
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.schemas import SubscriptionOut


def mail(request: web.Request) -> emails.Mail:
    return emails.Mail(composer=request.app[composer_key], links=request.app[links_key])


def wake_mail(app: web.Application) -> None:
    """Call after committing new mail rows: the sender starts at once instead of polling."""
    worker = app.get(mail_worker_key)
    if worker is not None:
        worker.wake()


def wake_requests(app: web.Application) -> None:
    """Call after committing a link request: it is handled at once instead of polling."""
    worker = app.get(requests_key)
    if worker is not None:
        worker.wake()


def subscription_out(request: web.Request, subscriber: Subscriber) -> SubscriptionOut:
    return export.subscription_out(subscriber, request.app[links_key])


async def limit(request: web.Request, email: str | None = None) -> None:
    keys = [f"ip:{request.remote}"] + ([f"email:{email.lower()}"] if email else [])
    await request.app[limiter_key].check(*keys)
