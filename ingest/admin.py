"""Write keys (generated here, shown once) and what each key sent.

Admins (superusers) alone add, scope and revoke keys; Marketers and Analysts only read. A key is
never deleted, only revoked, so what it sent stays on record (IngestStats.write_key is PROTECT)."""

from __future__ import annotations

from django.contrib import admin, messages

from ingest.models import IngestStats, PendingBatch, QuarantinedEvent, UnitAttributes, WriteKey
from ingest.writekeys import write_key_cache_clear, write_key_create, write_key_revoke


class IngestStatsInline(admin.TabularInline):
    model = IngestStats
    extra = 0
    can_delete = False
    fields = ("experiment", "queued", "stored", "duplicates", "rejected", "quarantined", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    """Write keys are generated here and shown once, in the message after saving."""

    list_display = ("name", "prefix", "active", "simulated", "scope", "created_at", "revoked_at")
    list_filter = ("revoked_at", "simulated")
    search_fields = ("name", "prefix")
    inlines = [IngestStatsInline]
    actions = ["revoke"]
    filter_horizontal = ("experiments",)
    SCOPE_FIELDS = ("experiments", "allowed_origins", "rate_limit_per_minute", "simulated")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", *self.SCOPE_FIELDS)
        return ("name", "prefix", *self.SCOPE_FIELDS, "created_by", "created_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("prefix", "created_by", "created_at", "revoked_at")

    @admin.display(description="scope")
    def scope(self, obj: WriteKey) -> str:
        experiments = ", ".join(obj.experiments.values_list("key", flat=True)) or "all experiments"
        origins = ", ".join(obj.allowed_origins.split()) or "any origin"
        return f"{experiments}; {origins}"

    # Admins only: a Marketer (even one given the permission by hand) may not mint, widen or
    # revoke credentials. Nobody deletes: revoking keeps the key's record and its stats.
    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        write_key_cache_clear()  # a narrowed scope applies now, not after the cache expires

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
        WriteKey.objects.filter(pk=created.pk).update(
            allowed_origins=obj.allowed_origins,
            rate_limit_per_minute=obj.rate_limit_per_minute,
            simulated=obj.simulated,
        )
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record the ingest pipeline writes: shown with every field read-only, never added or changed by hand."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IngestStats)
class IngestStatsAdmin(ReadOnlyAdmin):
    list_display = (
        "write_key",
        "experiment",
        "queued",
        "stored",
        "duplicates",
        "rejected",
        "quarantined",
        "updated_at",
    )
    list_filter = ("write_key", "experiment")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QuarantinedEvent)
class QuarantinedEventAdmin(ReadOnlyAdmin):
    """Events set aside by the plausibility rules (ingest.plausibility): counted, never summed."""

    list_display = ("event_id", "experiment", "unit", "type", "ts", "revenue", "reason", "write_key", "received_at")
    list_filter = ("reason", "experiment", "write_key")
    search_fields = ("unit", "event_id")


@admin.register(UnitAttributes)
class UnitAttributesAdmin(ReadOnlyAdmin):
    """What storefronts said about each unit (its first event with attributes): the report's segments."""

    list_display = ("unit", "experiment", "device", "visitor", "source", "country", "prior_orders", "created_at")
    list_filter = ("experiment", "device", "visitor", "source")
    search_fields = ("unit", "country")


@admin.register(PendingBatch)
class PendingBatchAdmin(ReadOnlyAdmin):
    """The outbox (ingest.outbox): accepted batches not stored yet. Rows older than a few minutes mean
    the ingest workers are behind or down; beat's sweep publishes each again when due."""

    list_display = ("batch_id", "accepted_at", "due_at", "attempts")
    ordering = ("due_at",)
    search_fields = ("batch_id",)
    exclude = ("payload",)  # the events themselves; the worker's record (IngestBatch) summarises them

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "payload"]

    def has_delete_permission(self, request, obj=None):
        return False  # deleting one would lose accepted events
