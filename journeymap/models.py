"""Workspaces, membership, journey maps and their change log."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from journeymap.scoping import Role, WorkspaceScopedQuerySet

slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lowercase letters, digits and single hyphens (e.g. my-team).",
)


class WorkspaceQuerySet(WorkspaceScopedQuerySet):
    workspace_path = ""


class Workspace(models.Model):
    """A team. Every object belongs to exactly one workspace."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True, validators=[slug_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("map_list", kwargs={"workspace": self.slug})


class MembershipQuerySet(WorkspaceScopedQuerySet):
    def admins(self) -> "MembershipQuerySet":
        return self.filter(role=Role.ADMIN)


class Membership(models.Model):
    """A user's role in a workspace."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="unique_membership"),
        ]
        ordering = ["workspace", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.EDITOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class MapStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class JourneyMapQuerySet(WorkspaceScopedQuerySet):
    def active(self) -> "JourneyMapQuerySet":
        return self.filter(archived_at__isnull=True)

    def archived(self) -> "JourneyMapQuerySet":
        return self.filter(archived_at__isnull=False)


class JourneyMap(models.Model):
    """A customer journey: stages in order, for some personas, fed by some datasets."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="maps")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, validators=[slug_validator])
    description = models.TextField(blank=True)
    personas = models.ManyToManyField("personas.Persona", blank=True, related_name="maps")
    datasets = models.ManyToManyField("analytics.Dataset", blank=True, related_name="maps")
    status = models.CharField(max_length=10, choices=MapStatus.choices, default=MapStatus.DRAFT)
    conversion_window_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking of the map's own fields: a save carrying an older version is refused
    # instead of overwriting. Stages and cards carry versions of their own.
    version = models.PositiveIntegerField(default=1)

    objects = JourneyMapQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="unique_map_slug"),
        ]
        ordering = ["-updated_at", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("map_detail", kwargs={"workspace": self.workspace.slug, "slug": self.slug})

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class MapChangeQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "map__workspace"


class MapChange(models.Model):
    """The change log: who changed what on a map, and when."""

    map = models.ForeignKey(JourneyMap, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)

    objects = MapChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.summary}"


class SnapshotKind(models.TextChoices):
    AS_IS = "as_is", "As-is"
    TO_BE = "to_be", "To-be"


class SnapshotQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "map__workspace"


class Snapshot(models.Model):
    """A named copy of a map as it was (its journeymap/v1 JSON), to restore or compare later.

    A snapshot is "live" from its creation until the next snapshot of the same map, which is the
    period whose figures it is compared with.
    """

    map = models.ForeignKey(JourneyMap, on_delete=models.CASCADE, related_name="snapshots")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=SnapshotKind.choices, default=SnapshotKind.AS_IS)
    note = models.TextField(blank=True)
    data = models.JSONField(help_text="The map as journeymap/v1 JSON when the snapshot was taken.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CommentTarget(models.TextChoices):
    STAGE = "stage", "Stage"
    TOUCHPOINT = "touchpoint", "Touchpoint"
    PAIN_POINT = "pain_point", "Pain point"
    OPPORTUNITY = "opportunity", "Opportunity"
    KPI = "kpi", "KPI"


class CommentQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "map__workspace"

    def open(self) -> "CommentQuerySet":
        return self.filter(resolved_at__isnull=True)


class Comment(models.Model):
    """A comment pinned to a stage or a card of a map; it may mention workspace members."""

    map = models.ForeignKey(JourneyMap, on_delete=models.CASCADE, related_name="comments")
    target_kind = models.CharField(max_length=20, choices=CommentTarget.choices)
    target_id = models.PositiveBigIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=5000)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["map", "target_kind", "target_id"])]

    def __str__(self) -> str:
        return self.body[:60]


class ShareLinkQuerySet(WorkspaceScopedQuerySet):
    workspace_path = "map__workspace"

    def active(self) -> "ShareLinkQuerySet":
        return self.filter(revoked_at__isnull=True)


class ShareLink(models.Model):
    """A read-only link to a map for people without an account; an admin can revoke it."""

    map = models.ForeignKey(JourneyMap, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Share link of {self.map}"
