"""Every table, imported in one place so that the metadata (and Alembic) sees them all."""

from service.briefs.models import Brief, BriefHistory, BriefTag
from service.db import Base
from service.events.models import Event
from service.staff.models import StaffMember

__all__ = ["Base", "Brief", "BriefHistory", "BriefTag", "Event", "StaffMember"]
