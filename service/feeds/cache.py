"""The rendered bytes of feeds, in the content cache (service/cache.py)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from service.cache import ContentCache


@dataclass(frozen=True)
class RenderedFeed:
    """A feed's bytes, and gzipped once here rather than on every request (several times
    smaller: feed readers poll, many from NHS and police networks)."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    gzip_etag: str  # each encoding of the same content has its own strong ETag
    last_modified: datetime
    last_modified_http: str

    @classmethod
    def of(cls, body: bytes, content_type: str, last_modified: datetime) -> RenderedFeed:
        # HTTP dates carry whole seconds; dropping the fraction keeps If-Modified-Since exact.
        last_modified = last_modified.replace(microsecond=0)
        digest = hashlib.sha256(body).hexdigest()[:32]
        http_date = format_datetime(last_modified, usegmt=True)
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            content_type=content_type,
            etag=f'"{digest}"',
            gzip_etag=f'"{digest}-gzip"',
            last_modified=last_modified,
            last_modified_http=http_date,
        )


class FeedCache(ContentCache[RenderedFeed]):
    """Feeds by format and canonical address, valid for one content version."""
