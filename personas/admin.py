from django.contrib import admin

from personas.models import Persona


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "occupation", "age_range"]
    list_filter = ["workspace"]
    search_fields = ["name", "summary"]
