"""Touchpoints (whose rule picks their analytics rows), pain points and opportunities."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from journeymap.scoping import WorkspaceScopedQuerySet
from stages.models import EMOTION_VALIDATORS, POSITION_VALIDATORS
from touchpoints.rules import rule_validator

SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class Channel(models.TextChoices):
    WEBSITE = "website", "Website"
    SEARCH = "search", "Search"
    SOCIAL = "social", "Social media"
    EMAIL = "email", "Email"
    ADS = "ads", "Ads"
    MARKETPLACE = "marketplace", "Marketplace"
    MOBILE_APP = "mobile_app", "Mobile app"
    CHAT = "chat", "Chat"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    STORE = "store", "Store"
    WORD_OF_MOUTH = "word_of_mouth", "Word of mouth"
    OTHER = "other", "Other"


class TouchpointQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "stage__map__workspace"


class Touchpoint(models.Model):
    stage = models.ForeignKey("stages.Stage", on_delete=models.CASCADE, related_name="touchpoints")
    position = models.PositiveIntegerField(validators=POSITION_VALIDATORS)
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    description = models.TextField(blank=True)
    owner = models.CharField(max_length=120, blank=True)
    emotion = models.SmallIntegerField(default=0, validators=EMOTION_VALIDATORS)
    rule = models.JSONField(
        null=True,
        blank=True,
        validators=[rule_validator],
        help_text=(
            "Which analytics rows belong to this touchpoint (DESIGN §6); empty: not measured."
        ),
    )

    version = models.PositiveIntegerField(default=1)  # optimistic locking

    objects = TouchpointQuerySet.as_manager()

    class Meta:
        ordering = ["stage", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(emotion__gte=-2, emotion__lte=2),
                name="touchpoint_emotion_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PainPointStatus(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    RESOLVED = "resolved", "Resolved"


class PainPointQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "stage__map__workspace"


class PainPoint(models.Model):
    stage = models.ForeignKey("stages.Stage", on_delete=models.CASCADE, related_name="pain_points")
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="pain_points"
    )
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    severity = models.PositiveSmallIntegerField(default=3, validators=SCORE_VALIDATORS)
    evidence = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=PainPointStatus.choices, default=PainPointStatus.OPEN
    )

    version = models.PositiveIntegerField(default=1)  # optimistic locking

    objects = PainPointQuerySet.as_manager()

    class Meta:
        ordering = ["stage", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=5), name="pain_point_severity"
            ),
        ]

    def __str__(self) -> str:
        return self.title or "(untitled pain point)"


class OpportunityStatus(models.TextChoices):
    IDEA = "idea", "Idea"
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class OpportunityQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "stage__map__workspace"


class Opportunity(models.Model):
    stage = models.ForeignKey(
        "stages.Stage", on_delete=models.CASCADE, related_name="opportunities"
    )
    pain_point = models.ForeignKey(
        PainPoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    impact = models.PositiveSmallIntegerField(default=3, validators=SCORE_VALIDATORS)
    effort = models.PositiveSmallIntegerField(default=3, validators=SCORE_VALIDATORS)
    status = models.CharField(
        max_length=20, choices=OpportunityStatus.choices, default=OpportunityStatus.IDEA
    )
    owner = models.CharField(max_length=120, blank=True)

    version = models.PositiveIntegerField(default=1)  # optimistic locking

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["stage", "id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(impact__gte=1, impact__lte=5, effort__gte=1, effort__lte=5),
                name="opportunity_scores",
            ),
        ]

    def __str__(self) -> str:
        return self.title or "(untitled opportunity)"
