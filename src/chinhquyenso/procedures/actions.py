"""Permission actions and audit labels of the procedures module (registered at start-up)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from chinhquyenso.core.models import Role
from chinhquyenso.core.permissions import OFFICIAL_ROLES, register_action

# The national catalogue is managed by an administrator of a top-level organisation (the
# province); see `services.catalogue.can_manage_catalogue`. Assigning implementing
# organisations only needs it within the organisations concerned.
register_action("procedure.manage", {Role.ADMIN})
register_action("procedure.view", OFFICIAL_ROLES)
register_action("process.manage", {Role.ADMIN, Role.LEADER})

AUDIT_LABELS = {
    "procedure.created": _("Thêm thủ tục hành chính"),
    "procedure.version_created": _("Tạo phiên bản mới của thủ tục hành chính"),
    "procedure.updated": _("Sửa thông tin thủ tục hành chính"),
    "procedure.organisations_assigned": _("Giao cơ quan thực hiện thủ tục"),
    "procedure.catalogue_imported": _("Nhập danh mục thủ tục hành chính"),
    "process.saved": _("Lưu quy trình nội bộ"),
}


def _add_audit_labels() -> None:
    """Our codes into the shared label table (core's own entries win)."""
    try:
        from chinhquyenso.core import audit_labels
    except ImportError:  # pragma: no cover - the table is optional for the services
        return
    for code, label in AUDIT_LABELS.items():
        audit_labels.LABELS.setdefault(code, label)


_add_audit_labels()
