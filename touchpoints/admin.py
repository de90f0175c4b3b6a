from django.contrib import admin

from journeymap.admin import MapContentAdmin
from touchpoints.models import Opportunity, PainPoint, Touchpoint


@admin.register(Touchpoint)
class TouchpointAdmin(MapContentAdmin):
    map_of = staticmethod(lambda card: card.stage.map)
    list_display = ["name", "stage", "position", "channel", "owner", "emotion"]
    list_filter = ["channel"]
    search_fields = ["name", "stage__name", "stage__map__name"]


@admin.register(PainPoint)
class PainPointAdmin(MapContentAdmin):
    map_of = staticmethod(lambda card: card.stage.map)
    list_display = ["title", "stage", "touchpoint", "severity", "status"]
    list_filter = ["severity", "status"]
    search_fields = ["title", "description"]


@admin.register(Opportunity)
class OpportunityAdmin(MapContentAdmin):
    map_of = staticmethod(lambda card: card.stage.map)
    list_display = ["title", "stage", "impact", "effort", "status", "owner"]
    list_filter = ["status"]
    search_fields = ["title", "description"]
