from django.contrib import admin

from stages.models import Stage, StageKPI


class StageKPIInline(admin.TabularInline):
    model = StageKPI
    extra = 0


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "map", "position", "kind", "emotion"]
    list_filter = ["kind"]
    search_fields = ["name", "map__name"]
    inlines = [StageKPIInline]


@admin.register(StageKPI)
class StageKPIAdmin(admin.ModelAdmin):
    list_display = ["stage", "metric", "target", "direction"]
    list_filter = ["metric", "direction"]
