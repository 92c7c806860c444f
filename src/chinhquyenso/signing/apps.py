from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "chinhquyenso.signing"
    label = "signing"
    verbose_name = "Chữ ký số"

    def ready(self):
        from django.utils.translation import pgettext_lazy

        from chinhquyenso.core import audit_labels
        from chinhquyenso.core.models import Role
        from chinhquyenso.core.permissions import OFFICIAL_ROLES, register_action

        register_action("signature.sign", OFFICIAL_ROLES)
        register_action("signature.validate", OFFICIAL_ROLES)
        # The trust store is shared by every agency: only top-level administrators change it
        # (permissions.require_installation_wide).
        register_action("trust.manage", {Role.ADMIN})
        # Signing many documents at once is for those who sign for an organisation or unit.
        register_action("signature.sign_batch", {Role.LEADER, Role.UNIT_HEAD, Role.UNIT_DEPUTY})
        audit_labels.register(
            {
                "signature.applied": pgettext_lazy("audit action", "Ký số tài liệu PDF"),
                "signature.batch_signed": pgettext_lazy(
                    "audit action", "Ký số hàng loạt tài liệu PDF"
                ),
                "trust.certificate_added": pgettext_lazy(
                    "audit action", "Thêm chứng thư vào kho tin cậy"
                ),
                "trust.certificate_removed": pgettext_lazy(
                    "audit action", "Gỡ chứng thư khỏi kho tin cậy"
                ),
            }
        )
