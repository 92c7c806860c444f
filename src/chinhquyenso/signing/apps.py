import logging

from django.apps import AppConfig

# pyHanko warns on every B-LT signature made without network fetching that the embedded
# revocation data "may give rise to unexpected results". Ours never is incomplete: before
# signing, `services._check_certificate` validates the path in hard-fail revocation mode with
# the CRLs and OCSP responses given (or fetched through the cache), and refuses to sign when
# any is missing. The warning only floods the logs (26 lines in `make demo`).
EXPECTED_PYHANKO_WARNING = "Validation/revocation info will be embedded, but fetching is not"


class _DropExpectedNoFetchWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(EXPECTED_PYHANKO_WARNING)


class SigningConfig(AppConfig):
    name = "chinhquyenso.signing"
    label = "signing"
    verbose_name = "Chữ ký số"

    def ready(self):
        from django.utils.translation import pgettext_lazy

        logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(
            _DropExpectedNoFetchWarning()
        )

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
