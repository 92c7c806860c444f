"""Tables of the signing module: the trust store.

A trusted certificate is either a trust anchor (a root: chains ending there are trusted) or an
intermediate kept only to build chains when a signed PDF does not embed it (the Government CA's
issuing certificate is the usual case). Only active rows are used. Rows are never edited, only
added or switched off/removed by an administrator (services.trust).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrustKind(models.TextChoices):
    ANCHOR = "anchor", _("Chứng thư gốc tin cậy")  # chains ending here are trusted
    INTERMEDIATE = "intermediate", _("Chứng thư trung gian")  # only helps to build chains


class TrustedCertificate(models.Model):
    kind = models.CharField(_("loại"), max_length=16, choices=TrustKind.choices)
    subject = models.CharField(_("chủ thể"), max_length=500)
    issuer = models.CharField(_("tổ chức cấp"), max_length=500)
    serial = models.CharField(_("số hiệu"), max_length=80)
    sha256 = models.CharField(_("dấu vân tay SHA-256"), max_length=64, unique=True)
    not_before = models.DateTimeField(_("hiệu lực từ"))
    not_after = models.DateTimeField(_("hiệu lực đến"))
    der = models.BinaryField(_("chứng thư (DER)"))
    is_active = models.BooleanField(_("đang dùng"), default=True)
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)
    added_at = models.DateTimeField(_("thêm lúc"), auto_now_add=True)

    class Meta:
        verbose_name = _("chứng thư tin cậy")
        verbose_name_plural = _("kho chứng thư tin cậy")
        ordering = ["kind", "subject"]

    def __str__(self) -> str:
        return self.subject


# --- Registered signing certificates (issue #4, "Certificates and trust") -------------------------


class CertificatePurpose(models.TextChoices):
    PERSONAL = "personal", _("Chữ ký số cá nhân")
    ORGANISATION = "organisation", _("Chữ ký số của cơ quan, tổ chức (con dấu)")


class CertificateFormat(models.TextChoices):
    PEM = "pem", _("PEM")
    DER = "der", _("DER")
    PKCS12 = "pkcs12", _("PKCS#12 (.p12/.pfx)")


class KeyStorage(models.TextChoices):
    """Where the private key lives: a descriptor only, never the key, its password or PIN."""

    UNKNOWN = "unknown", _("Không ghi nhận")
    PKCS11 = "pkcs11", _("Thiết bị ký số (USB token, HSM) qua PKCS#11")
    PKCS12_HOLDER = "pkcs12_holder", _("Tệp PKCS#12 do người ký giữ")
    REMOTE = "remote", _("Dịch vụ ký số từ xa")


class Certificate(models.Model):
    """A signing certificate registered for an official (personal) or an organisation (seal).

    The row keeps the certificate itself (DER) and what is shown about it; never a private key,
    a PKCS#12 password or a token PIN (services in `signing.certificates`).
    """

    purpose = models.CharField(_("mục đích"), max_length=16, choices=CertificatePurpose.choices)
    # Personal certificates: the official. Organisation seals: empty.
    user = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signing_certificates",
        verbose_name=_("người ký"),
    )
    # Organisation seals: the organisation. Personal certificates: where the official works
    # (the scope in which administrators see and manage the row).
    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.PROTECT,
        related_name="signing_certificates",
        verbose_name=_("cơ quan, đơn vị"),
    )
    subject = models.CharField(_("chủ thể"), max_length=500)
    issuer = models.CharField(_("tổ chức cấp"), max_length=500)
    serial = models.CharField(_("số hiệu"), max_length=80)
    sha256 = models.CharField(_("dấu vân tay SHA-256"), max_length=64, db_index=True)
    not_before = models.DateTimeField(_("hiệu lực từ"))
    not_after = models.DateTimeField(_("hiệu lực đến"), db_index=True)
    key_usage = models.JSONField(_("mục đích sử dụng khóa"), default=list)
    der = models.BinaryField(_("chứng thư (DER)"))
    source_format = models.CharField(
        _("định dạng tệp"), max_length=8, choices=CertificateFormat.choices
    )
    key_storage = models.CharField(
        _("nơi giữ khóa bí mật"),
        max_length=16,
        choices=KeyStorage.choices,
        default=KeyStorage.UNKNOWN,
    )
    token_label = models.CharField(_("nhãn thiết bị ký"), max_length=100, blank=True)
    key_label = models.CharField(_("nhãn khóa"), max_length=100, blank=True)
    is_active = models.BooleanField(_("đang dùng"), default=True)
    registered_by = models.ForeignKey(
        "core.User", null=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(_("đăng ký lúc"), auto_now_add=True)
    deactivated_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deactivated_at = models.DateTimeField(_("ngừng dùng lúc"), null=True, blank=True)
    deactivation_reason = models.CharField(_("lý do ngừng dùng"), max_length=255, blank=True)
    # The smallest expiry threshold (30, 7, 1 days) already notified: each is sent once.
    expiry_warned_days = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("chứng thư số đã đăng ký")
        verbose_name_plural = _("chứng thư số đã đăng ký")
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "sha256"],
                condition=models.Q(purpose="personal"),
                name="signing_cert_unique_per_user",
            ),
            models.UniqueConstraint(
                fields=["organisation", "sha256"],
                condition=models.Q(purpose="organisation"),
                name="signing_cert_unique_per_org",
            ),
            models.CheckConstraint(
                condition=models.Q(purpose="organisation", user__isnull=True)
                | models.Q(purpose="personal", user__isnull=False),
                name="signing_cert_holder_matches_purpose",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def holder_name(self) -> str:
        return str(self.user) if self.user_id else str(self.organisation)


class RevocationKind(models.TextChoices):
    CRL = "crl", _("danh sách thu hồi (CRL)")
    OCSP = "ocsp", _("phản hồi OCSP")


class RevocationCacheEntry(models.Model):
    """A CRL or OCSP response fetched from a CA, kept until its nextUpdate (issue #4: "results
    cached with their validity"). A CRL is keyed by its URL; an OCSP response by the issuer's
    key hash and the certificate serial. Written and read only by signing.revocation."""

    kind = models.CharField(_("loại"), max_length=8, choices=RevocationKind.choices)
    key = models.CharField(_("khóa tra cứu"), max_length=200, unique=True)
    url = models.CharField(_("địa chỉ"), max_length=1000, blank=True)
    issuer = models.CharField(_("khóa công khai tổ chức cấp (SHA-256)"), max_length=64, blank=True)
    serial = models.CharField(_("số hiệu chứng thư"), max_length=80, blank=True)
    der = models.BinaryField(_("dữ liệu (DER)"))
    fetched_at = models.DateTimeField(_("tải lúc"))
    this_update = models.DateTimeField(_("phát hành lúc"), null=True, blank=True)
    next_update = models.DateTimeField(_("dùng được đến"), null=True, blank=True)

    class Meta:
        verbose_name = _("thông tin thu hồi đã lưu")
        verbose_name_plural = _("thông tin thu hồi đã lưu")

    def __str__(self) -> str:
        return f"{self.kind} {self.url or self.serial}"
