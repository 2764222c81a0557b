"""Drafts from review documents, and the documents kept with their briefs.

Like the brief service, these take the caller's session and never commit: the brief, its
history and its document are written in one transaction, so a failed import leaves nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from service.briefs import service as briefs
from service.briefs.documents.models import BriefDocument
from service.briefs.documents.reader import Reading
from service.briefs.models import Brief
from service.briefs.schemas import BriefCreate
from service.staff.models import StaffMember

NOT_FOUND = "Not found in the document"


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def filename(name: str) -> str:
    """A file's name as kept and offered: its last path part, printable, 255 at most."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|*?:')
    return " ".join(base.split())[-255:] or "review"


def brief_data(reading: Reading, name: str) -> BriefCreate:
    """The draft a reading proposes; what was not found says so, for the publisher."""
    proposal = reading.proposal
    title = proposal.title or re.sub(r"\.(pdf|docx)$", "", name, flags=re.I)
    return BriefCreate.model_validate(
        {
            "title": title[:300],
            "summary": proposal.summary or f"{NOT_FOUND}: write the summary.",
            "learning_points": proposal.learning_points
            or [f"{NOT_FOUND}: write the learning points, one a line."],
            "source": {
                "review": (proposal.review.value if proposal.review else NOT_FOUND)[:300],
                "board": (proposal.board.value if proposal.board else NOT_FOUND)[:300],
                "published_on": proposal.published_on(),
            },
            "audience": "public",
        }
    )


async def create_draft(
    session: AsyncSession,
    upload: Upload,
    reading: Reading,
    *,
    staff: StaffMember,
    tagging: briefs.Tagging,
    now: datetime,
) -> Brief:
    """A draft brief from a document that has been read, with the document kept beside it.
    The tagger tags the draft's text, as it does any new brief."""
    name = filename(upload.filename)
    brief = await briefs.create(
        session, brief_data(reading, name), staff=staff, tagging=tagging, now=now
    )
    proposal = reading.proposal
    guesses = {
        "review": asdict(proposal.review) if proposal.review else None,
        "board": asdict(proposal.board) if proposal.board else None,
        "published": asdict(proposal.published) if proposal.published else None,
        "points_from": proposal.points_from,
        "sections": proposal.sections,
    }
    session.add(
        BriefDocument(
            brief_id=brief.id,
            filename=name,
            media_type=reading.media_type,
            size=len(upload.data),
            pages=reading.pages,
            sha256=hashlib.sha256(upload.data).hexdigest(),
            content=upload.data,
            text=reading.text,
            guesses=guesses,
            offered=False,
            created_at=now,
            created_by=staff.id,
        )
    )
    await session.flush()
    return brief


async def get(session: AsyncSession, brief_id: uuid.UUID) -> BriefDocument | None:
    """The brief's document, without its file or text (loaded when read)."""
    return await session.get(BriefDocument, brief_id)


async def content(session: AsyncSession, brief_id: uuid.UUID) -> BriefDocument | None:
    """The brief's document with its file, to download."""
    query = select(BriefDocument).where(BriefDocument.brief_id == brief_id)
    return await session.scalar(query.options(undefer(BriefDocument.content)))


async def text(session: AsyncSession, brief_id: uuid.UUID) -> str | None:
    """The repaired text of the brief's document."""
    query = select(BriefDocument.text).where(BriefDocument.brief_id == brief_id)
    return await session.scalar(query)


async def offer(session: AsyncSession, brief_id: uuid.UUID, offered: bool) -> bool:
    """Offer the file on the brief's page, or stop; whether the brief has a document."""
    result = await session.execute(
        update(BriefDocument).where(BriefDocument.brief_id == brief_id).values(offered=offered)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
