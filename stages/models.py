"""Stages of a journey map and the KPIs each stage is measured by."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from journeymap.scoping import WorkspaceScopedQuerySet

EMOTION_VALIDATORS = [MinValueValidator(-2), MaxValueValidator(2)]
POSITION_VALIDATORS = [MinValueValidator(1)]


class StageKind(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    CONSIDERATION = "consideration", "Consideration"
    DECISION = "decision", "Decision"
    PURCHASE = "purchase", "Purchase"
    RETENTION = "retention", "Retention"
    ADVOCACY = "advocacy", "Advocacy"
    CUSTOM = "custom", "Custom"


class Metric(models.TextChoices):
    """The metric catalogue of DESIGN §7 that a stage KPI chooses from."""

    USERS = "users", "Users"
    SESSIONS = "sessions", "Sessions"
    EVENTS = "events", "Events"
    REVENUE = "revenue", "Revenue"
    ORDERS = "orders", "Orders"
    FUNNEL_USERS = "funnel_users", "Users reaching this step"
    CONVERSION_RATE = "conversion_rate", "Conversion from previous stage"
    OVERALL_CONVERSION = "overall_conversion", "Conversion from first stage"
    DROP_OFF = "drop_off", "Drop-off from previous stage"
    MEDIAN_TIME_TO_CONVERT = "median_time_to_convert_seconds", "Median time to convert"
    PURCHASERS = "purchasers", "Purchasers (map total)"
    TOTAL_CONVERSION_RATE = "total_conversion_rate", "Purchasers per user (map total)"
    AOV = "aov", "Average order value (map total)"
    REVENUE_PER_USER = "revenue_per_user", "Revenue per user (map total)"
    REPEAT_PURCHASE_RATE = "repeat_purchase_rate", "Repeat purchase rate (map total)"
    BOUNCE_RATE = "bounce_rate", "Bounce rate (map total)"
    NPS = "nps", "NPS (map total)"
    NPS_RESPONSES = "nps_responses", "NPS responses (map total)"


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class StageQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "map__workspace"


class Stage(models.Model):
    map = models.ForeignKey(
        "journeymap.JourneyMap", on_delete=models.CASCADE, related_name="stages"
    )
    position = models.PositiveIntegerField(validators=POSITION_VALIDATORS)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=StageKind.choices, default=StageKind.CUSTOM)
    description = models.TextField(blank=True)
    customer_goal = models.TextField(blank=True)
    actions = models.TextField(blank=True, help_text="What the customer does in this stage.")
    thoughts = models.TextField(blank=True)
    feelings = models.TextField(blank=True)
    emotion = models.SmallIntegerField(default=0, validators=EMOTION_VALIDATORS)

    version = models.PositiveIntegerField(default=1)  # optimistic locking

    objects = StageQuerySet.as_manager()

    class Meta:
        ordering = ["map", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(emotion__gte=-2, emotion__lte=2), name="stage_emotion_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StageKPIQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "stage__map__workspace"


class StageKPI(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="kpis")
    metric = models.CharField(max_length=40, choices=Metric.choices)
    target = models.FloatField(null=True, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.HIGHER)

    version = models.PositiveIntegerField(default=1)  # optimistic locking

    objects = StageKPIQuerySet.as_manager()

    class Meta:
        ordering = ["stage", "id"]
        verbose_name = "stage KPI"

    def __str__(self) -> str:
        return f"{self.stage}: {self.get_metric_display()}"
