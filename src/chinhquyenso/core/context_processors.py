"""The navigation each person sees: only what their roles let them do."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from chinhquyenso.core import permissions

# (label, url name, permission action or None for every signed-in official)
NAVIGATION = [
    (_("Trang cá nhân"), "core:home", None),
    (_("Cơ quan, đơn vị"), "core:organisations", "organisation.view"),
    (_("Cán bộ"), "core:people", "person.view"),
    (_("Lịch làm việc"), "core:calendar", "calendar.manage"),
    (_("Nhật ký hệ thống"), "core:audit", "audit.view"),
    (_("Tác vụ nền"), "core:tasks", "tasks.view"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, action in NAVIGATION:
        if action is not None and not permissions.can(user, action):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # page not built yet
        items.append({"label": label, "url": url, "active": request.path == url})
    return {"nav_items": items}
