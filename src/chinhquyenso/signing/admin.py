"""Admin for the trust store (reference data: list, switch off, remove) and, read-only, the
registered signing certificates."""

from django.contrib import admin

from chinhquyenso.signing.models import Certificate, TrustedCertificate


@admin.register(TrustedCertificate)
class TrustedCertificateAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "issuer", "not_after", "is_active", "note")
    list_filter = ("kind", "is_active")
    search_fields = ("subject", "issuer", "sha256")
    readonly_fields = (
        "kind",
        "subject",
        "issuer",
        "serial",
        "sha256",
        "not_before",
        "not_after",
        "added_at",
    )
    exclude = ("der",)

    def has_add_permission(self, request):
        # Adding goes through the trust-store service (it parses and audits the certificate).
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Read-only: registering and deactivating go through `signing.certificates` (the pages at
    /chu-ky-so/chung-thu/), which check permissions, parse the file and write the audit trail."""

    list_display = ("subject", "purpose", "user", "organisation", "not_after", "is_active")
    list_filter = ("purpose", "is_active", "source_format", "key_storage")
    search_fields = ("subject", "issuer", "serial", "sha256", "user__username")
    list_select_related = ("user", "organisation")
    exclude = ("der",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
