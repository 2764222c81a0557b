"""Every table, imported in one place so that the metadata (and Alembic) sees them all."""

from digests.models import DigestRecipient, DigestRun
from practice.acknowledgements.models import Acknowledgement
from practice.discussions.models import DiscussionAction, TeamDiscussion
from practice.impact.models import DailyCarried, DailyEmails, RolledUp
from service.audit.models import AuditEvent
from service.briefs.documents.models import BriefDocument
from service.briefs.models import Brief, BriefHistory, BriefTag, TagCorrection
from service.briefs.search import BriefSearchDocument
from service.db import Base
from service.events.models import Event
from service.mail.models import MailDelivery, MailMessage, MailSuppression
from service.practitioners.models import PractitionerSession, PractitionerSignInLink
from service.requests.models import LinkRequest
from service.staff.copies import EditorCopy
from service.staff.models import StaffMember, StaffSession, StaffSignInLink
from service.webhooks.models import WebhookDelivery, WebhookEndpoint
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions.models import Counter, DomainAgency, Subscriber, SubscriptionCode

__all__ = ["Base", "Brief", "BriefHistory", "BriefTag", "Event", "StaffMember"]
__all__ += ["MailDelivery", "MailMessage", "MailSuppression"]
__all__ += ["Counter", "Group", "GroupMember", "Subscriber", "SubscriptionCode"]
__all__ += ["DigestRecipient", "DigestRun"]
__all__ += ["BriefSearchDocument", "StaffSession", "StaffSignInLink"]
__all__ += ["PractitionerSession", "PractitionerSignInLink"]
__all__ += ["LinkRequest"]
__all__ += ["DiscussionAction", "TeamDiscussion"]
__all__ += ["Acknowledgement", "DomainAgency"]
__all__ += ["DailyCarried", "DailyEmails", "RolledUp"]
__all__ += ["BriefDocument"]
__all__ += ["AuditEvent"]
__all__ += ["TagCorrection"]
__all__ += ["WebhookDelivery", "WebhookEndpoint"]
__all__ += ["EditorCopy"]
