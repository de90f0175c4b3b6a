from django.contrib import admin

from journeymap.models import JourneyMap, MapChange, Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(JourneyMap)
class JourneyMapAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "status", "version", "updated_at", "archived_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["personas"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(MapChange)
class MapChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "map", "user", "action", "summary"]
    list_filter = ["action"]
    search_fields = ["summary", "map__name"]
