"""The navigation each person sees: only what their roles let them do."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from chinhquyenso.core import permissions

# (label, url name, permission action or None for every signed-in person). An action ending in
# "@installation" is checked with `permissions.can_installation_wide` (top-level organisations).
NAVIGATION = [
    (_("Trang cá nhân"), "core:home", None),
    (_("Tiếp nhận hồ sơ"), "dossiers:intake", "dossier.receive"),
    (_("Hồ sơ của tôi"), "dossiers:queue", "dossier.view"),
    (_("Giám sát"), "dossiers:supervision", "dossier.supervise"),
    (_("Kiểm tra chữ ký số"), "signing:validate", "signature.validate"),
    (_("Ký số hàng loạt"), "signing:batch", "signature.sign_batch"),
    (_("Chứng thư số"), "signing:certificates", "certificate.register_own"),
    (_("Kho chứng thư tin cậy"), "signing:trust", "trust.manage@installation"),
    (_("Thủ tục hành chính"), "procedures:catalogue", "procedure.view"),
    (_("Cơ quan, đơn vị"), "core:organisations", "organisation.view"),
    (_("Cán bộ"), "core:people", "person.view"),
    (_("Lịch làm việc"), "core:calendar", "calendar.manage"),
    (_("Nhật ký hệ thống"), "core:audit", "audit.view"),
    (_("Khóa API"), "core:apikeys", "apikey.manage"),
    (_("Tác vụ nền"), "core:tasks", "tasks.view"),
]


def _current_position(user):
    """The position shown next to the user's name: the primary one, else the first."""
    positions = permissions.active_positions(user)
    for position in positions:
        if position.is_primary:
            return position
    return positions[0] if positions else None


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "current_position": None}
    # A leader or administrator still on the second-factor step sees no menu: every other page
    # would send them back to it anyway.
    verified = getattr(user, "is_verified", None)
    from chinhquyenso.core.services.people import requires_second_factor

    if requires_second_factor(user) and verified is not None and not verified():
        return {"nav_items": [], "current_position": _current_position(user)}
    items = []
    for label, name, action in NAVIGATION:
        if action is not None and action.endswith("@installation"):
            if not permissions.can_installation_wide(user, action.removesuffix("@installation")):
                continue
        elif action is not None and not permissions.can(user, action):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # page not built (yet)
        items.append({"label": label, "url": url, "active": False, "name": name})
    # The one active entry: the longest URL that is a prefix of the page (home only exactly).
    matches = [
        item
        for item in items
        if request.path == item["url"]
        or (item["name"] != "core:home" and request.path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items, "current_position": _current_position(user)}
