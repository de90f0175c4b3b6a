"""Analytics datasets and their rows in canonical form (DESIGN §4, §5).

A Dataset is one uploaded export. Its rows are stored in one of three canonical shapes, by kind:
Event (one row = one event), AggregateRow (dimensions with metric columns, from GA4 reports) and
SurveyResponse (an NPS score). The original file is kept untouched beside them.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from journeymap.scoping import WorkspaceScopedQuerySet


class DatasetKind(models.TextChoices):
    EVENTS = "events", "Events"
    AGGREGATE = "aggregate", "Aggregate (report)"
    SURVEY = "survey", "Survey (NPS)"


class DatasetStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a mapping"
    IMPORTING = "importing", "Importing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DatasetQuerySet(WorkspaceScopedQuerySet):
    def ready(self) -> "DatasetQuerySet":
        return self.filter(status=DatasetStatus.READY)


class Dataset(models.Model):
    workspace = models.ForeignKey(
        "journeymap.Workspace", on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=DatasetKind.choices, default=DatasetKind.EVENTS)
    source_format = models.CharField(
        max_length=40, blank=True, help_text="The detected or chosen format, e.g. shopify-orders."
    )
    original_file = models.FileField(upload_to="datasets/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the file.")
    options = models.JSONField(
        default=dict, blank=True, help_text="How the file is read: encoding, delimiter, formats."
    )
    column_mapping = models.JSONField(
        default=dict, blank=True, help_text="Source column → canonical field."
    )
    status = models.CharField(
        max_length=10, choices=DatasetStatus.choices, default=DatasetStatus.PENDING
    )
    row_count = models.BigIntegerField(default=0)
    rejected_count = models.BigIntegerField(default=0)
    progress_rows = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0, help_text="Estimated rows in the file.")
    first_timestamp = models.DateTimeField(null=True, blank=True)
    last_timestamp = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True, help_text="Why a file could not be imported.")
    error_report = models.FileField(upload_to="datasets/errors/%Y/%m/", blank=True)
    notes = models.JSONField(
        default=list, blank=True, help_text="What the import skipped or assumed."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """One event of an events dataset, in canonical form; timestamps are UTC."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="events")
    timestamp = models.DateTimeField()
    event = models.CharField(max_length=200)
    user_id = models.CharField(max_length=200, blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    page = models.TextField(blank=True)
    source = models.CharField(max_length=200, blank=True)
    medium = models.CharField(max_length=200, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=100, blank=True)
    device = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    revenue = models.FloatField(default=0)
    order_id = models.CharField(max_length=200, blank=True)
    extra = models.JSONField(null=True, blank=True, help_text="Other columns of the file.")

    class Meta:
        indexes = [
            models.Index(fields=["dataset", "timestamp"]),
            models.Index(fields=["dataset", "event"]),
            models.Index(fields=["dataset", "user_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.event}"


class AggregateRow(models.Model):
    """One row of a report export: dimension values and metric sums (approximate by nature)."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="aggregate_rows")
    dimensions = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)

    def __str__(self) -> str:
        return str(self.dimensions)


class SurveyResponse(models.Model):
    """One NPS answer: a whole score from 0 to 10."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="responses")
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    user_id = models.CharField(max_length=200, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    extra = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "responded_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=10), name="nps_score_0_to_10"),
        ]

    def __str__(self) -> str:
        return f"{self.score}"


# --- materialised figures (DESIGN §7: pages read stored figures, never rows) ----------------------


class MetricsStatus(models.TextChoices):
    COMPUTING = "computing", "Computing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class MapMetricsState(models.Model):
    """Where a map's figures stand: the latest recompute requested, and the one stored.

    Every change that can move the figures bumps `requested_generation` in its own transaction and
    enqueues the task; a run writes only if it computed a generation newer than the stored one, so
    a slow old run never overwrites a newer result.
    """

    map = models.OneToOneField(
        "journeymap.JourneyMap", on_delete=models.CASCADE, related_name="metrics_state"
    )
    requested_generation = models.PositiveBigIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True)
    computed_generation = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=MetricsStatus.choices, default=MetricsStatus.COMPUTING
    )
    error = models.TextField(blank=True, help_text="Why the latest computation failed.")

    class Meta:
        verbose_name = "map metrics state"

    def __str__(self) -> str:
        return f"Figures of {self.map_id}: {self.status}"

    @property
    def pending(self) -> bool:
        """A newer computation than the stored figures is waiting or running."""
        return self.requested_generation > self.computed_generation and (
            self.status == MetricsStatus.COMPUTING
        )


class MapMetrics(models.Model):
    """A map's figures over the default range, for all users (persona null) or one persona.

    `figures` is the DESIGN §8 object exactly as `compute_metrics` returns it; `stage_ids` names the
    stage of each entry of its "stages". `recent` and `previous` are the same figures for the last
    `comparison_days` of the range and the period of equal length before it (the KPI change);
    `weekly` the figures per ISO week of the range (trends).
    """

    map = models.ForeignKey(
        "journeymap.JourneyMap", on_delete=models.CASCADE, related_name="metrics"
    )
    persona = models.ForeignKey(
        "personas.Persona", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    generation = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField()
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField()
    stage_ids = models.JSONField(default=list)
    comparison_days = models.PositiveIntegerField(default=28)
    recent = models.JSONField(null=True, blank=True)
    previous = models.JSONField(null=True, blank=True)
    weekly = models.JSONField(default=list, blank=True)
    approximate = models.JSONField(
        null=True, blank=True, help_text="Sums over the map's report datasets, if any."
    )

    class Meta:
        verbose_name = "map metrics"
        verbose_name_plural = "map metrics"
        constraints = [
            models.UniqueConstraint(
                fields=["map"], condition=models.Q(persona__isnull=True), name="one_map_metrics"
            ),
            models.UniqueConstraint(fields=["map", "persona"], name="one_map_persona_metrics"),
        ]

    def __str__(self) -> str:
        return f"Figures of {self.map_id} ({self.persona_id or 'all users'})"


class RangeMetrics(models.Model):
    """A map's figures over a chosen range [start, end), for all users or one persona.

    Computed on demand (analytics.ranges) by the `compute_range_metrics` task against the map's
    `requested_generation` at the time: a row whose generation is older than the map's current one
    is stale and computed again. `figures` and `previous` are the DESIGN §8 object for the range
    and for the period of equal length just before it; `breakdowns` the users of the stages by
    channel, device and persona (analytics.engine.compute_breakdowns). `requested_generation` and
    `requested_at` say a computation is on its way, so that a page polling does not enqueue twice.
    """

    map = models.ForeignKey(
        "journeymap.JourneyMap", on_delete=models.CASCADE, related_name="range_metrics"
    )
    persona = models.ForeignKey(
        "personas.Persona", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    generation = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    figures = models.JSONField(null=True, blank=True)
    previous = models.JSONField(null=True, blank=True)
    breakdowns = models.JSONField(default=dict, blank=True)
    stage_ids = models.JSONField(default=list, blank=True)
    requested_generation = models.PositiveBigIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "range metrics"
        verbose_name_plural = "range metrics"
        constraints = [
            models.UniqueConstraint(
                fields=["map", "start", "end"],
                condition=models.Q(persona__isnull=True),
                name="one_range_metrics",
            ),
            models.UniqueConstraint(
                fields=["map", "persona", "start", "end"], name="one_range_persona_metrics"
            ),
        ]

    def __str__(self) -> str:
        return f"Figures of {self.map_id} for {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"
