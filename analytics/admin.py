from django.contrib import admin

from analytics.models import ReportSnapshot


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are written by the periodic task and the backfill, never by hand."""

    list_display = ("experiment", "day", "taken_at", "source", "units_in_several_variants")
    list_filter = ("source",)
    search_fields = ("experiment__key",)
    date_hierarchy = "day"
    readonly_fields = ("experiment", "day", "taken_at", "source", "variants", "units_in_several_variants")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
