"""Codes of the dossier history (`DossierEvent.action`) and of the audit trail ("dossier.<code>").

Codes never change (STYLE.md habit 5); what people read comes from these mappings.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

EVENT_LABELS = {
    "submitted": _("Nộp hồ sơ trực tuyến"),
    "received": _("Tiếp nhận hồ sơ"),
    "rated": _("Đánh giá mức độ hài lòng"),
    "refused": _("Từ chối hồ sơ"),
    "claimed": _("Nhận xử lý hồ sơ"),
    "assigned": _("Phân công xử lý hồ sơ"),
    "forwarded": _("Chuyển bước xử lý"),
    "sent_back": _("Trả lại bước trước"),
    "approved": _("Phê duyệt hồ sơ"),
    "transferred": _("Chuyển liên thông"),
    "transfer_completed": _("Cơ quan liên thông trả kết quả"),
    "resolved": _("Đã xử lý xong, chuyển kết quả về Bộ phận Một cửa"),
    "result_returned": _("Trả kết quả"),
    "supplement_requested": _("Yêu cầu bổ sung hồ sơ"),
    "supplement_received": _("Nhận hồ sơ bổ sung"),
    "payment_requested": _("Yêu cầu thực hiện nghĩa vụ tài chính"),
    "payment_confirmed": _("Xác nhận đã thực hiện nghĩa vụ tài chính"),
    "stopped": _("Dừng xử lý hồ sơ"),
    "withdrawn": _("Người nộp rút hồ sơ"),  # a citizen or a business
    "apology_issued": _("Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
    "result_signed": _("Ký số kết quả giải quyết"),
}
AUDIT_LABELS = {f"dossier.{code}": label for code, label in EVENT_LABELS.items()}
# Audit codes of this app that are not about one dossier.
AUDIT_LABELS["formset.activated"] = pgettext_lazy("audit action", "Đổi bộ biểu mẫu đang áp dụng")
AUDIT_LABELS["formset.updated"] = pgettext_lazy(
    "audit action", "Cập nhật biểu mẫu theo bản phát hành mới"
)


def label_for(code: str) -> str:
    label = EVENT_LABELS.get(code)
    return str(label) if label is not None else code


def install_audit_labels() -> None:
    """Add the app's audit codes (the dossier ones and `formset.activated`) to core's label
    mapping (from the app's ready())."""
    from chinhquyenso.core import audit_labels

    for code, label in AUDIT_LABELS.items():
        audit_labels.LABELS.setdefault(code, label)
