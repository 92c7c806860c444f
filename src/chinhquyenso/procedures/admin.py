"""Django admin for reference data only: fields (lĩnh vực). Procedures, versions and
processes change through the services (import, editor) so that versions and the audit trail
stay right; the admin shows them read-only."""

from django.contrib import admin

from chinhquyenso.procedures.models import Field, Procedure


@admin.register(Field)
class FieldAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("national_code", "__str__", "field", "level", "is_active")
    list_filter = ("level", "is_active", "field")
    search_fields = ("national_code", "search_text")
    list_select_related = ("current_version", "field")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
