"""``learnhub briefs import review.pdf|review.docx``: a draft from a review document."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs import service as briefs
from service.briefs.documents import service
from service.briefs.documents.isolation import read_isolated
from service.briefs.documents.limits import MAX_BYTES
from service.briefs.documents.text import DocumentError
from service.clock import utcnow
from service.staff.models import StaffMember

SUFFIXES = (".pdf", ".docx", ".doc")
TOO_BIG = "it is larger than 20 MB, the most an import takes"


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DocumentError(TOO_BIG)
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"can't read it: {exc.strerror or exc}") from None


def is_document(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


async def import_document(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    staff: StaffMember,
    tagging: briefs.Tagging,
) -> str:
    """The new draft's id; a DomainError or DocumentError with one sentence if none."""
    data = await asyncio.to_thread(_read, path)
    reading = await read_isolated(data)
    upload = service.Upload(path.name, data)
    async with sessions.begin() as session:
        brief = await service.create_draft(
            session, upload, reading, staff=staff, tagging=tagging, now=utcnow()
        )
        return str(brief.id)
