from django.contrib import admin

from journeymap.admin import MapContentAdmin
from stages.models import Stage, StageKPI


class StageKPIInline(admin.TabularInline):
    model = StageKPI
    extra = 0


@admin.register(Stage)
class StageAdmin(MapContentAdmin):
    map_of = staticmethod(lambda stage: stage.map)
    list_display = ["name", "map", "position", "kind", "emotion"]
    list_filter = ["kind"]
    search_fields = ["name", "map__name"]
    inlines = [StageKPIInline]


@admin.register(StageKPI)
class StageKPIAdmin(MapContentAdmin):
    map_of = staticmethod(lambda kpi: kpi.stage.map)
    list_display = ["stage", "metric", "target", "direction"]
    list_filter = ["metric", "direction"]
