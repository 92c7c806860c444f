"""Admin for the trust store (reference data): list, switch off, remove."""

from django.contrib import admin

from chinhquyenso.signing.models import TrustedCertificate


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
