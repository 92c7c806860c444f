"""Core endpoints, one file per sub-domain."""

from ninja import Router

from chinhquyenso.core.api import calendar, files, notifications, organisations

router = Router()
router.add_router("/", organisations.router)
router.add_router("/calendar", calendar.router)
router.add_router("/files", files.router)
router.add_router("/notifications", notifications.router)
