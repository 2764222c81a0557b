"""Every table, imported in one place so that the metadata (and Alembic) sees them all."""

from service.briefs.models import Brief, BriefHistory, BriefTag
from service.db import Base
from service.events.models import Event
from service.mail.models import MailDelivery, MailMessage, MailSuppression
from service.staff.models import StaffMember
from subscribers.models import Counter, Group, GroupMember, Subscriber, SubscriptionCode

__all__ = ["Base", "Brief", "BriefHistory", "BriefTag", "Event", "StaffMember"]
__all__ += ["MailDelivery", "MailMessage", "MailSuppression"]
__all__ += ["Counter", "Group", "GroupMember", "Subscriber", "SubscriptionCode"]
