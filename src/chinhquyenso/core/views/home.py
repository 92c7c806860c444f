"""The home page: who I am, where I work, what is waiting for me."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core import permissions
from chinhquyenso.core.models import Notification
from chinhquyenso.core.models.notifications import Channel
from chinhquyenso.core.services import people
from chinhquyenso.core.views.account import login_required_page

# (label, description, url name, permission action)
QUICK_LINKS = [
    (
        _("Cơ quan, đơn vị"),
        _("Cây tổ chức, mã định danh, đơn vị hành chính."),
        "core:organisations",
        "organisation.view",
    ),
    (_("Cán bộ"), _("Danh sách cán bộ, vị trí công tác, vai trò."), "core:people", "person.view"),
    (
        _("Thêm cán bộ"),
        _("Tạo tài khoản và vị trí đầu tiên."),
        "core:person_create",
        "person.manage",
    ),
    (
        _("Lịch làm việc"),
        _("Ngày lễ, nghỉ bù, làm bù và điều chỉnh lịch."),
        "core:calendar",
        "calendar.manage",
    ),
    (
        _("Nhật ký hệ thống"),
        _("Ai đã làm gì, khi nào; kiểm tra toàn vẹn."),
        "core:audit",
        "audit.view",
    ),
    (_("Khóa API"), _("Khóa cho hệ thống khác gọi API."), "core:apikeys", "apikey.manage"),
    (_("Tác vụ nền"), _("Công việc chạy nền và trạng thái."), "core:tasks", "tasks.view"),
]


def _quick_links(user) -> list[dict]:
    links = []
    for label, description, name, action in QUICK_LINKS:
        if not permissions.can(user, action):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"label": label, "description": description, "url": url})
    return links


@login_required_page
def home(request):
    user = request.user
    unread = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).count()
    if user.is_applicant:
        return render(request, "core/applicant_home.html", {"unread_notifications": unread})
    positions = permissions.active_positions(user)
    context = {
        "positions": positions,
        "unread_notifications": unread,
        "quick_links": _quick_links(user),
        "has_totp": people.confirmed_totp(user) is not None,
        "requires_totp": people.requires_second_factor(user),
    }
    return render(request, "core/home.html", context)
