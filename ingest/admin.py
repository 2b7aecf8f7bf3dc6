"""Write keys (generated here, shown once) and what each key sent."""

from __future__ import annotations

from django.contrib import admin, messages

from ingest.models import IngestStats, WriteKey
from ingest.writekeys import write_key_create, write_key_revoke


class IngestStatsInline(admin.TabularInline):
    model = IngestStats
    extra = 0
    can_delete = False
    fields = ("experiment", "queued", "stored", "duplicates", "rejected", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    """Write keys are generated here and shown once, in the message after saving."""

    list_display = ("name", "prefix", "active", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    inlines = [IngestStatsInline]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ("name",) if obj is None else ("name", "prefix", "created_by", "created_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("prefix", "created_by", "created_at", "revoked_at")

    @admin.display(boolean=True)
    def active(self, obj: WriteKey) -> bool:
        return obj.active

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, clear = write_key_create(name=obj.name, user=request.user)
        obj.pk = created.pk
        obj.prefix, obj.key_hash, obj.created_at = created.prefix, created.key_hash, created.created_at
        self.message_user(
            request,
            f"Write key for {obj.name!r}: {clear} (shown once; only its hash is stored, copy it now)",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected write keys", permissions=["change"])
    def revoke(self, request, queryset):
        for write_key in queryset:
            write_key_revoke(write_key=write_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", level=messages.SUCCESS)


@admin.register(IngestStats)
class IngestStatsAdmin(admin.ModelAdmin):
    list_display = ("write_key", "experiment", "queued", "stored", "duplicates", "rejected", "updated_at")
    list_filter = ("write_key", "experiment")
    readonly_fields = [f.name for f in IngestStats._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
