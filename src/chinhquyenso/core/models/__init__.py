"""Core tables: organisations, people, audit trail, calendar, stored files, notifications.

Split by sub-domain (STYLE.md habit 1); every write goes through `core.services`.
"""

from chinhquyenso.core.models.audit import AuditChainHead, AuditEntry
from chinhquyenso.core.models.calendar import CalendarOverride, OfficeSession
from chinhquyenso.core.models.files import StoredFile
from chinhquyenso.core.models.notifications import Notification, SmsSimulatorMessage
from chinhquyenso.core.models.organisations import AdministrativeUnit, Organisation
from chinhquyenso.core.models.people import ApiKey, Position, Role, User, UserKind

__all__ = [
    "AdministrativeUnit",
    "ApiKey",
    "AuditChainHead",
    "AuditEntry",
    "CalendarOverride",
    "Notification",
    "OfficeSession",
    "Organisation",
    "Position",
    "Role",
    "SmsSimulatorMessage",
    "StoredFile",
    "User",
    "UserKind",
]
