"""What people read for each audit action code (STYLE.md habit 5: codes never change, the
text may). Modules add their codes here; an unknown code is shown as the code itself."""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

# Labels have their own translation context ("audit action"): "Thêm vị trí công tác" is an event
# here ("Position added") and a button elsewhere ("Add a position").

LABELS = {
    # Organisations
    "organisation.created": pgettext_lazy("audit action", "Tạo cơ quan, đơn vị"),
    "organisation.updated": pgettext_lazy("audit action", "Sửa thông tin cơ quan, đơn vị"),
    "organisation.moved": pgettext_lazy(
        "audit action", "Chuyển cơ quan, đơn vị sang cấp trên khác"
    ),
    "organisation.merged": pgettext_lazy("audit action", "Hợp nhất cơ quan, đơn vị"),
    # People
    "person.created": pgettext_lazy("audit action", "Tạo tài khoản cán bộ"),
    "person.totp_enrolled": pgettext_lazy("audit action", "Bật xác thực hai bước"),
    "position.added": pgettext_lazy("audit action", "Thêm vị trí công tác"),
    "position.ended": pgettext_lazy("audit action", "Kết thúc vị trí công tác"),
    "applicant.registered": pgettext_lazy(
        "audit action", "Đăng ký tài khoản công dân, doanh nghiệp"
    ),
    # Working-day calendar
    "calendar.override_created": pgettext_lazy("audit action", "Thêm điều chỉnh lịch làm việc"),
    "calendar.override_deleted": pgettext_lazy("audit action", "Xóa điều chỉnh lịch làm việc"),
    "calendar.sessions_set": pgettext_lazy("audit action", "Đặt giờ làm việc"),
    # API keys
    "apikey.created": pgettext_lazy("audit action", "Cấp khóa API"),
    "apikey.revoked": pgettext_lazy("audit action", "Thu hồi khóa API"),
    # Stored files
    "file.stored": pgettext_lazy("audit action", "Lưu tệp"),
    "file.integrity_failed": pgettext_lazy("audit action", "Phát hiện tệp bị thay đổi"),
    "file.integrity_restored": pgettext_lazy("audit action", "Tệp toàn vẹn trở lại"),
    "file.repaired": pgettext_lazy("audit action", "Khôi phục tệp"),
    # Notifications (the outbox gives up on one after its last retry)
    "notification.failed": pgettext_lazy("audit action", "Gửi thông báo không thành công"),
    # Signing certificates and the trust store (issue #4)
    "certificate.registered": pgettext_lazy("audit action", "Đăng ký chứng thư số"),
    "certificate.deactivated": pgettext_lazy("audit action", "Ngừng dùng chứng thư số"),
    "certificate.expiry_warned": pgettext_lazy("audit action", "Nhắc chứng thư số sắp hết hạn"),
    "trust.certificate_disabled": pgettext_lazy("audit action", "Tắt chứng thư trong kho tin cậy"),
    "trust.certificate_enabled": pgettext_lazy(
        "audit action", "Bật lại chứng thư trong kho tin cậy"
    ),
}


def label_for(code: str) -> str:
    """The human label of an action code; the code itself when there is none."""
    label = LABELS.get(code)
    return str(label) if label is not None else code


def register(labels: dict) -> None:
    """Add a module's labels (called from its AppConfig.ready); existing codes keep theirs."""
    for code, label in labels.items():
        LABELS.setdefault(code, label)
