"""The access log: one compact line a request, with every token in it cut short.

Links in emails carry tokens that open a subscription, a sign-in or a private feed, and
pages opened from them send the whole address again as the Referer of their assets. Logs
are read by more people, and kept longer, than the database: a token is shown by its first
characters only, enough to match a support request to a line.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

KEEP = 6
# Paths whose next segment is a token; a segment shorter than a token (a page's own name,
# like check-your-email) is left as it is.
_TOKENS = re.compile(
    r"(/subscriptions/(?:confirm|manage|join)/|/unsubscribe/|/staff/sign-in/"
    r"|/practitioners/sign-in/|/feeds/groups/|/api/v1/subscriptions/(?:confirm/)?"
    r"|/discussions/(?:new/)?|/acknowledge/)"
    r"([^/?#\s\"]{20,})"
)


def redact(text: str) -> str:
    """``text`` with the token after each token-bearing path cut to its first characters."""
    return _TOKENS.sub(lambda m: f"{m.group(1)}{m.group(2)[:KEEP]}…", text)


class AccessLogger(AbstractAccessLogger):
    """client "METHOD path" status bytes seconds "referer" "user agent", tokens redacted."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        referer = request.headers.get("Referer", "-")
        agent = request.headers.get("User-Agent", "-")
        self.logger.info(
            '%s "%s %s" %s %s %.4f "%s" "%s"',
            request.remote,
            request.method,
            redact(request.path_qs),
            response.status,
            response.body_length,
            time,
            redact(referer),
            agent,
        )
