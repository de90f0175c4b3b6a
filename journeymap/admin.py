from collections.abc import Callable

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from journeymap.models import JourneyMap, MapChange, Membership, Workspace
from journeymap.services import map_record_change


class MapContentAdmin(admin.ModelAdmin):
    """The admin of something a map shows (a stage, a KPI, a card). A save or a delete here is
    an edit of the map like one in the app: logged on the map, its `updated_at` moved (the editor's
    lanes and the dashboard's figures region are cached per version of it) and its figures asked
    for again (the admin may change a rule)."""

    map_of: Callable[[Model], JourneyMap]

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # after the inlines too
        self._record(request, [form.instance], "edited" if change else "added")

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        with transaction.atomic():
            journey_map = self.map_of(obj)
            super().delete_model(request, obj)
            self._record(request, [obj], "deleted", maps=[journey_map])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            objects = list(queryset)
            maps = [self.map_of(obj) for obj in objects]
            super().delete_queryset(request, queryset)
            self._record(request, objects, "deleted", maps=maps)

    def _record(
        self,
        request: HttpRequest,
        objects: list[Model],
        verb: str,
        maps: list[JourneyMap] | None = None,
    ) -> None:
        kind = self.model._meta.verbose_name
        if maps is None:
            maps = [self.map_of(obj) for obj in objects]
        touched: dict[int, tuple[JourneyMap, list[str]]] = {}
        for obj, journey_map in zip(objects, maps, strict=True):
            touched.setdefault(journey_map.pk, (journey_map, []))[1].append(str(obj))
        for journey_map, names in touched.values():
            map_record_change(
                journey_map=journey_map,
                user=request.user,
                action="admin_edit",
                summary=f"{kind.capitalize()} {verb} in the admin: {', '.join(names)}",
                moves_figures=True,
            )


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

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Like an edit in the app: logged, and the figures asked for again (the conversion
        window or the personas may have changed)."""
        super().save_related(request, form, formsets, change)
        if change:
            map_record_change(
                journey_map=form.instance,
                user=request.user,
                action="admin_edit",
                summary="Map edited in the admin",
                moves_figures=True,
            )


@admin.register(MapChange)
class MapChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "map", "user", "action", "summary"]
    list_filter = ["action"]
    search_fields = ["summary", "map__name"]
