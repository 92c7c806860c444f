"""The caller's own in-app notifications (issue #2, point 13)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from chinhquyenso.apiauth import AUTH
from chinhquyenso.core.errors import PermissionDenied
from chinhquyenso.core.models import ApiKey
from chinhquyenso.core.services import notifications

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    link: str
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Schema):
    count: int
    unread: int
    items: list[NotificationOut]


class ErrorOut(Schema):
    code: str
    message: str
    details: object | None = None


def _person(request: HttpRequest):
    """Notifications belong to people; another system's API key has none."""
    if isinstance(request.auth, ApiKey):
        raise PermissionDenied(
            "Thông báo chỉ dành cho người dùng đã đăng nhập, không dùng khóa API.",
            code="person_required",
        )
    return request.auth


@router.get(
    "",
    response={200: NotificationPage, 403: ErrorOut},
    auth=AUTH,
    summary="Thông báo trong ứng dụng của tôi",
)
def list_notifications(
    request: HttpRequest, offset: int = 0, limit: int = 20, unread: bool = False
):
    user = _person(request)
    limit = max(1, min(limit, 100))
    offset = max(0, offset)
    qs = notifications.in_app_for(user)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return {
        "count": qs.count(),
        "unread": notifications.unread_count(user),
        "items": list(qs[offset : offset + limit]),
    }


@router.post(
    "/{notification_id}/read",
    response={200: NotificationOut, 403: ErrorOut, 404: ErrorOut},
    auth=AUTH,
    summary="Đánh dấu đã đọc một thông báo của tôi",
)
def read(request: HttpRequest, notification_id: int):
    user = _person(request)
    notification = notifications.get_in_app_for(user=user, notification_id=notification_id)
    return notifications.mark_read(user=user, notification=notification)
