from django.contrib import admin
from django.http import HttpRequest

from analytics.materialise import request_recompute_of_maps
from personas.models import Persona


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "occupation", "age_range"]
    list_filter = ["workspace"]
    search_fields = ["name", "summary"]

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """The figures of the maps the persona is on are asked for again, as when it is edited
        in the app (its segment rule may have changed)."""
        super().save_related(request, form, formsets, change)
        if change:
            request_recompute_of_maps(form.instance.maps.values_list("pk", flat=True))
