"""Personas: who the journey is for, and (through the segment rule) which users they are."""

from typing import Self

from django.db import models

from journeymap.models import JourneyMap
from journeymap.scoping import WorkspaceScopedQuerySet
from touchpoints.rules import rule_validator


class PersonaQuerySet(WorkspaceScopedQuerySet):
    def with_maps(self) -> Self:
        """Prefetch the maps that use each persona, by name (for cards and the detail page)."""
        return self.prefetch_related(
            models.Prefetch("maps", queryset=JourneyMap.objects.order_by("name", "pk"))
        )


class Persona(models.Model):
    workspace = models.ForeignKey(
        "journeymap.Workspace", on_delete=models.CASCADE, related_name="personas"
    )
    name = models.CharField(max_length=120)
    avatar = models.FileField(upload_to="avatars/", blank=True)
    summary = models.TextField(blank=True)
    age_range = models.CharField(max_length=40, blank=True)
    occupation = models.CharField(max_length=120, blank=True)
    location = models.CharField(max_length=120, blank=True)
    goals = models.TextField(blank=True)
    needs = models.TextField(blank=True)
    pain_points = models.TextField(blank=True)
    motivations = models.TextField(blank=True)
    channels = models.JSONField(default=list, blank=True)
    online_behaviour = models.TextField(blank=True)
    quote = models.TextField(blank=True)
    segment = models.JSONField(
        null=True, blank=True, validators=[rule_validator], help_text="Rule (DESIGN §6) or empty."
    )
    # Optimistic locking: every edit increments the version, and an edit made on an older version
    # is refused instead of overwriting what someone else saved in between.
    version = models.PositiveIntegerField(default=1)

    objects = PersonaQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_persona_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def initials(self) -> str:
        words = [word for word in self.name.split() if word[:1].isalnum()]
        return "".join(word[0] for word in words[:2]).upper() or "?"
