"""What an acknowledgement takes (the form's one field) and how it is exported."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from practice.acknowledgements.models import MAX_ANSWER

# Line breaks and tabs are part of an answer; other control characters are not.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AcknowledgementIn(BaseModel):
    """The form: an optional answer to "How will this change your practice?"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: Annotated[str | None, Field(max_length=MAX_ANSWER)] = None

    @field_validator("answer", mode="before")
    @classmethod
    def _tidy(cls, value: object) -> object:
        """Blank is no answer; a line break counts as one character, however it was sent."""
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
            if _CONTROL_IN_TEXT.search(value):
                raise ValueError("must not contain control characters")
            return value or None
        return value


class AcknowledgementOut(BaseModel):
    """One acknowledgement in the subject-access export."""

    brief_id: uuid.UUID
    title: str  # the title the person was sent
    answer: str | None
    acknowledged_at: datetime
    updated_at: datetime
