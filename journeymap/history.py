"""A map's history: named snapshots (take, restore) and the comparison of two versions of a map.

A snapshot stores the map as journeymap/v1 JSON (DESIGN §8). Restoring one goes through the same
validation and building code as an import (`mapjson.map_replace_content`), so a snapshot that no
longer validates is refused whole and the map stays as it was. The comparison (`map_diff`) is a
pure function over two such documents.
"""

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models import Q

from journeymap.mapjson import (
    KPI_KEYS,
    OPPORTUNITY_KEYS,
    PAIN_POINT_KEYS,
    REQUIRED,
    STAGE_KEYS,
    TOUCHPOINT_KEYS,
    Key,
    map_export,
    map_replace_content,
    map_validate,
)
from journeymap.models import JourneyMap, MapStatus, Snapshot, SnapshotKind
from journeymap.services import map_record_change
from stages.models import Direction, Metric, StageKind
from touchpoints.models import Channel, OpportunityStatus, PainPointStatus

SNAPSHOT_NAME_MAX_LENGTH = Snapshot._meta.get_field("name").max_length

# --- snapshots: take and restore ---------------------------------------------------------------


def snapshot_take(
    *,
    journey_map: JourneyMap,
    user: AbstractBaseUser | None,
    name: str,
    kind: str = SnapshotKind.AS_IS,
    note: str = "",
) -> Snapshot:
    """Store the map as it is now under a name, and say so in the map's change log."""
    with transaction.atomic():
        snapshot = _snapshot_create(
            journey_map=journey_map, user=user, name=name, kind=kind, note=note
        )
        map_record_change(
            journey_map=journey_map,
            user=user,
            action="snapshot_taken",
            summary=f"Took snapshot {snapshot.name} ({snapshot.get_kind_display()})",
        )
    return snapshot


def _snapshot_create(
    *, journey_map: JourneyMap, user: AbstractBaseUser | None, name: str, kind: str, note: str
) -> Snapshot:
    snapshot = Snapshot(
        map=journey_map,
        name=name.strip(),
        kind=kind,
        note=note.strip(),
        data=map_export(journey_map),
        created_by=user,
    )
    snapshot.full_clean()
    snapshot.save()
    return snapshot


def snapshot_restore(*, snapshot: Snapshot, user: AbstractBaseUser | None) -> Snapshot:
    """Make the map's content the snapshot's, all or nothing; return the snapshot of what it was.

    The map's current content is first kept as the snapshot "Before restoring <name>", so that a
    restore can itself be undone. A snapshot whose data no longer validates raises MapJSONError
    (naming the JSON path) and changes nothing, not even that safety snapshot.
    """
    journey_map = snapshot.map
    with transaction.atomic():
        # Serialised with every structural change of the map (they lock the same row), so the
        # safety snapshot holds exactly the content that is replaced.
        JourneyMap.objects.select_for_update().filter(pk=journey_map.pk).values_list("pk").first()
        taken = snapshot.created_at.strftime("%Y-%m-%d %H:%M UTC")
        before = _snapshot_create(
            journey_map=journey_map,
            user=user,
            name=f"Before restoring {snapshot.name}"[:SNAPSHOT_NAME_MAX_LENGTH],
            kind=SnapshotKind.AS_IS,
            note=f"Taken automatically before restoring “{snapshot.name}” (taken {taken}).",
        )
        map_replace_content(journey_map=journey_map, data=snapshot.data)
        map_record_change(
            journey_map=journey_map,
            user=user,
            action="snapshot_restored",
            summary=f"Restored snapshot {snapshot.name} (the content before is kept as "
            f"snapshot {before.name})",
        )
    return before


def snapshot_json(snapshot: Snapshot) -> str:
    """The snapshot's map as pretty-printed JSON text, importable like any map export."""
    return json.dumps(snapshot.data, indent=2, ensure_ascii=False) + "\n"


def live_period(snapshot: Snapshot) -> tuple[datetime, datetime | None]:
    """When the snapshot was the map's latest: from its creation to the next snapshot (or None).

    The seam for comparing snapshots by the figures of the period each one was live.
    """
    later = Q(created_at__gt=snapshot.created_at) | Q(
        created_at=snapshot.created_at, pk__gt=snapshot.pk
    )
    end = (
        Snapshot.objects.filter(later, map_id=snapshot.map_id)
        .order_by("created_at", "pk")
        .values_list("created_at", flat=True)
        .first()
    )
    return snapshot.created_at, end


# --- comparing two versions of a map -----------------------------------------------------------

ADDED, REMOVED, CHANGED, SAME = "added", "removed", "changed", "same"


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs: its JSON key, its label, and both values raw and as text."""

    field: str
    label: str
    old: Any
    new: Any
    old_text: str
    new_text: str


@dataclass
class CardDiff:
    """A touchpoint, pain point, opportunity or KPI of a stage, matched by its name/title/metric."""

    kind: str
    key: str
    status: str
    old: dict | None
    new: dict | None
    changes: list[FieldChange]
    title: str
    old_detail: str = ""
    new_detail: str = ""


@dataclass
class LaneDiff:
    """One kind of card in a stage, both sides."""

    kind: str
    label: str
    cards: list[CardDiff]

    @property
    def changed(self) -> bool:
        return any(card.status != SAME for card in self.cards)


@dataclass
class StageDiff:
    """A stage matched by name (or only on one side), its field changes and its cards."""

    name: str
    status: str
    old: dict | None
    new: dict | None
    old_position: int | None
    new_position: int | None
    changes: list[FieldChange]
    lanes: list[LaneDiff]

    @property
    def old_summary(self) -> str:
        return _stage_summary(self.old)

    @property
    def new_summary(self) -> str:
        return _stage_summary(self.new)


@dataclass
class MapDiff:
    """What differs between two versions of a map: its own fields, then stage by stage."""

    changes: list[FieldChange]
    stages: list[StageDiff]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or any(stage.status != SAME for stage in self.stages)


def _show(value: Any, labels: dict[str, str] | None = None, signed: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if signed and isinstance(value, int | float):
        return f"+{value:g}" if value > 0 else ("0" if value == 0 else f"−{-value:g}")
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        if labels is not None and value in labels:
            return labels[value]
        return value if value else "(empty)"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value) or "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    return dict(choices.choices)


@dataclass(frozen=True)
class _Field:
    key: str
    label: str
    labels: dict[str, str] | None = None
    signed: bool = False


STAGE_FIELDS = [
    _Field("kind", "Kind", _labels(StageKind)),
    _Field("description", "Description"),
    _Field("customer_goal", "Goal"),
    _Field("actions", "Customer actions"),
    _Field("thoughts", "Thoughts"),
    _Field("feelings", "Feelings"),
    _Field("emotion", "Emotion", signed=True),
]
MAP_FIELDS = [
    _Field("name", "Name"),
    _Field("description", "Description"),
    _Field("status", "Status", _labels(MapStatus)),
    _Field("conversion_window_days", "Conversion window (days)"),
]


@dataclass(frozen=True)
class _CardSpec:
    kind: str
    label: str
    json_key: str  # the stage's list of these cards
    match_key: str  # what two versions of a card are matched by
    keys: dict[str, Key]  # mapjson's schema, for the defaults of keys a document leaves out
    fields: list[_Field]
    ordered: bool  # whether the order within the stage means something
    title: Callable[[dict], str]
    detail: Callable[[dict], str]


CARD_SPECS = [
    _CardSpec(
        "touchpoint",
        "Touchpoints",
        "touchpoints",
        "name",
        TOUCHPOINT_KEYS,
        [
            _Field("channel", "Channel", _labels(Channel)),
            _Field("description", "Description"),
            _Field("owner", "Owner"),
            _Field("emotion", "Emotion", signed=True),
            _Field("rule", "Rule"),
        ],
        True,
        lambda card: card["name"],
        lambda card: " · ".join(
            part
            for part in (
                _show(card["channel"], _labels(Channel)),
                f"owner {card['owner']}" if card["owner"] else "",
                f"emotion {_show(card['emotion'], signed=True)}",
                "measured" if card["rule"] else "not measured",
            )
            if part
        ),
    ),
    _CardSpec(
        "pain_point",
        "Pain points",
        "pain_points",
        "title",
        PAIN_POINT_KEYS,
        [
            _Field("description", "Description"),
            _Field("severity", "Severity"),
            _Field("touchpoint", "Touchpoint"),
            _Field("evidence", "Evidence"),
            _Field("status", "Status", _labels(PainPointStatus)),
        ],
        False,
        lambda card: card["title"] or "(untitled pain point)",
        lambda card: (
            f"severity {_show(card['severity'])} · "
            f"{_show(card['status'], _labels(PainPointStatus))}"
        ),
    ),
    _CardSpec(
        "opportunity",
        "Opportunities",
        "opportunities",
        "title",
        OPPORTUNITY_KEYS,
        [
            _Field("description", "Description"),
            _Field("impact", "Impact"),
            _Field("effort", "Effort"),
            _Field("status", "Status", _labels(OpportunityStatus)),
            _Field("owner", "Owner"),
            _Field("pain_point", "Pain point"),
        ],
        False,
        lambda card: card["title"] or "(untitled opportunity)",
        lambda card: (
            f"impact {_show(card['impact'])} · effort {_show(card['effort'])} · "
            f"{_show(card['status'], _labels(OpportunityStatus))}"
        ),
    ),
    _CardSpec(
        "kpi",
        "KPIs",
        "kpis",
        "metric",
        KPI_KEYS,
        [_Field("target", "Target"), _Field("direction", "Direction", _labels(Direction))],
        False,
        lambda card: _show(card["metric"], _labels(Metric)),
        lambda card: (
            f"target {_show(card['target'])} · {_show(card['direction'], _labels(Direction))}"
        ),
    ),
]


def map_diff(old: dict[str, Any], new: dict[str, Any]) -> MapDiff:
    """Compare two journeymap/v1 documents: what was added, removed or changed from old to new.

    Stages are matched by name; within a matched stage, touchpoints and KPIs by name and metric,
    pain points and opportunities by title (a name used twice matches its n-th use on the other
    side). A stage or touchpoint counts as moved (a "Position" change) only when its order among
    the ones on both sides changed, not because something was added or removed before it.
    """
    changes = _field_changes(old, new, MAP_FIELDS)
    old_personas = sorted(p.get("name", "") for p in old.get("personas", []))
    new_personas = sorted(p.get("name", "") for p in new.get("personas", []))
    if old_personas != new_personas:
        changes.append(
            FieldChange(
                "personas",
                "Personas",
                old_personas,
                new_personas,
                _show(old_personas),
                _show(new_personas),
            )
        )

    stages = []
    for old_index, new_index, moved in _match(
        old.get("stages", []), new.get("stages", []), lambda stage: stage["name"], ordered=True
    ):
        stages.append(_stage_diff(old, new, old_index, new_index, moved))

    counts = Counter(stage.status for stage in stages)
    card_counts = Counter(
        card.status for stage in stages for lane in stage.lanes for card in lane.cards
    )
    summary = {f"stages_{status}": counts[status] for status in (ADDED, REMOVED, CHANGED)}
    summary |= {f"cards_{status}": card_counts[status] for status in (ADDED, REMOVED, CHANGED)}
    return MapDiff(changes, stages, summary)


def _stage_diff(
    old: dict, new: dict, old_index: int | None, new_index: int | None, moved: bool
) -> StageDiff:
    before = _with_defaults(old["stages"][old_index], STAGE_KEYS) if old_index is not None else None
    after = _with_defaults(new["stages"][new_index], STAGE_KEYS) if new_index is not None else None
    old_position = None if old_index is None else old_index + 1
    new_position = None if new_index is None else new_index + 1
    changes = []
    if before is not None and after is not None:
        changes = _field_changes(before, after, STAGE_FIELDS)
        if moved:
            changes.append(
                FieldChange(
                    "position",
                    "Position",
                    old_position,
                    new_position,
                    str(old_position),
                    str(new_position),
                )
            )
    lanes = [
        LaneDiff(
            spec.kind,
            spec.label,
            _cards_diff(
                spec,
                before[spec.json_key] if before is not None else [],
                after[spec.json_key] if after is not None else [],
            ),
        )
        for spec in CARD_SPECS
    ]
    if before is None:
        status = ADDED
    elif after is None:
        status = REMOVED
    elif changes or any(lane.changed for lane in lanes):
        status = CHANGED
    else:
        status = SAME
    name = (after or before or {}).get("name", "")
    return StageDiff(name, status, before, after, old_position, new_position, changes, lanes)


def _cards_diff(spec: _CardSpec, old_cards: list, new_cards: list) -> list[CardDiff]:
    old_cards = [_with_defaults(card, spec.keys) for card in old_cards]
    new_cards = [_with_defaults(card, spec.keys) for card in new_cards]
    result = []
    for old_index, new_index, moved in _match(
        old_cards, new_cards, lambda card: card[spec.match_key], ordered=spec.ordered
    ):
        before = old_cards[old_index] if old_index is not None else None
        after = new_cards[new_index] if new_index is not None else None
        changes = []
        if before is not None and after is not None:
            changes = _field_changes(before, after, spec.fields)
            if moved:
                old_position, new_position = old_index + 1, new_index + 1
                changes.append(
                    FieldChange(
                        "position",
                        "Position",
                        old_position,
                        new_position,
                        str(old_position),
                        str(new_position),
                    )
                )
        if before is None:
            status = ADDED
        elif after is None:
            status = REMOVED
        else:
            status = CHANGED if changes else SAME
        card = after if after is not None else before
        result.append(
            CardDiff(
                kind=spec.kind,
                key=card[spec.match_key],
                status=status,
                old=before,
                new=after,
                changes=changes,
                title=spec.title(card),
                old_detail=spec.detail(before) if before is not None else "",
                new_detail=spec.detail(after) if after is not None else "",
            )
        )
    return result


def _with_defaults(item: dict, keys: dict[str, Key]) -> dict:
    """The item with every key of its schema, defaults where the document leaves one out."""
    filled = {}
    for name, key in keys.items():
        default = None if key.default is REQUIRED else key.default
        filled[name] = item.get(name, list(default) if isinstance(default, tuple) else default)
    return filled


def _field_changes(old: dict, new: dict, fields: list[_Field]) -> list[FieldChange]:
    changes = []
    for spec in fields:
        before, after = old.get(spec.key), new.get(spec.key)
        if before == after:
            continue
        changes.append(
            FieldChange(
                spec.key,
                spec.label,
                before,
                after,
                _show(before, spec.labels, spec.signed),
                _show(after, spec.labels, spec.signed),
            )
        )
    return changes


def _match(
    old_items: list, new_items: list, key: Callable[[Any], Any], *, ordered: bool
) -> list[tuple[int | None, int | None, bool]]:
    """Pair the items of both sides by key, in a reading order that keeps removed items in place.

    Returns (old index or None, new index or None, moved) in the order to show them: the new
    side's order, each removed item just after the old neighbour it followed.
    """
    old_keys = _occurrence_keys(key(item) for item in old_items)
    new_keys = _occurrence_keys(key(item) for item in new_items)
    old_index_of = {k: index for index, k in enumerate(old_keys)}
    pairs = [(old_index_of.get(k), index) for index, k in enumerate(new_keys)]
    matched_old = [old for old, _ in pairs if old is not None]
    staying = _longest_increasing(matched_old) if ordered else set(matched_old)

    result: list[tuple[int | None, int | None, bool]] = []
    shown_old: set[int] = set()
    new_keys_set = set(new_keys)

    def removed_up_to(limit: int) -> None:
        for index in range(limit):
            if index not in shown_old and old_keys[index] not in new_keys_set:
                shown_old.add(index)
                result.append((index, None, False))

    for old_index, new_index in pairs:
        if old_index is not None:
            removed_up_to(old_index)
            shown_old.add(old_index)
        result.append((old_index, new_index, old_index is not None and old_index not in staying))
    removed_up_to(len(old_keys))
    return result


def _occurrence_keys(keys: Iterable[Any]) -> list[tuple[Any, int]]:
    seen: Counter = Counter()
    result = []
    for k in keys:
        seen[k] += 1
        result.append((k, seen[k]))
    return result


def _longest_increasing(values: list[int]) -> set[int]:
    """The values of one longest strictly increasing subsequence (the items that did not move)."""
    if not values:
        return set()
    lengths = [1] * len(values)
    previous = [-1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i] and lengths[j] + 1 > lengths[i]:
                lengths[i], previous[i] = lengths[j] + 1, j
    index = max(range(len(values)), key=lambda i: lengths[i])
    result = set()
    while index != -1:
        result.add(values[index])
        index = previous[index]
    return result


def _stage_summary(stage: dict | None) -> str:
    if stage is None:
        return ""
    kind = _show(stage.get("kind"), _labels(StageKind))
    return f"{kind} · emotion {_show(stage.get('emotion'), signed=True)}"


# --- comparing: the sides ------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparedSide:
    """One side of a comparison: a snapshot (with the period it was live) or the current map."""

    value: str  # the snapshot's id, or "current"
    label: str
    data: dict[str, Any]
    snapshot: Snapshot | None = None
    live_from: datetime | None = None
    live_until: datetime | None = None


def compared_side(*, journey_map: JourneyMap, snapshot: Snapshot | None) -> ComparedSide:
    """A side of a comparison: the snapshot, or the map as it is now when snapshot is None.

    A snapshot whose data is not a valid map raises MapJSONError rather than being half compared.
    """
    if snapshot is None:
        return ComparedSide("current", "Current map", map_export(journey_map))
    map_validate(data=snapshot.data, workspace=journey_map.workspace)
    start, end = live_period(snapshot)
    return ComparedSide(str(snapshot.pk), snapshot.name, snapshot.data, snapshot, start, end)
