"""Maps as JSON ("journeymap/v1", DESIGN §8): export, and an import that validates everything first.

An import either creates the whole map or nothing: every problem is reported as a MapJSONError that
names its JSON path (`stages[2].touchpoints[0].rule.all[1].op: unknown operator ...`).
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.text import slugify

from journeymap.models import JourneyMap, MapChange, MapStatus, Workspace, slug_validator
from personas.models import Persona
from stages.models import Direction, Metric, Stage, StageKind, StageKPI
from touchpoints.models import (
    Channel,
    Opportunity,
    OpportunityStatus,
    PainPoint,
    PainPointStatus,
    Touchpoint,
)
from touchpoints.rules import RuleError, validate_rule

SCHEMA = "journeymap/v1"


class MapJSONError(ValueError):
    """A map JSON document that cannot be imported; `path` names where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- export ----------------------------------------------------------------------------------


def map_export(journey_map: JourneyMap) -> dict[str, Any]:
    """The map as a journeymap/v1 document, with every key of DESIGN §8."""
    stages = journey_map.stages.order_by("position", "id").prefetch_related(
        models.Prefetch("touchpoints", queryset=Touchpoint.objects.order_by("position", "id")),
        models.Prefetch("kpis", queryset=StageKPI.objects.order_by("id")),
        models.Prefetch(
            "pain_points", queryset=PainPoint.objects.select_related("touchpoint").order_by("id")
        ),
        models.Prefetch(
            "opportunities",
            queryset=Opportunity.objects.select_related("pain_point").order_by("id"),
        ),
    )
    return {
        "schema": SCHEMA,
        "name": journey_map.name,
        "slug": journey_map.slug,
        "description": journey_map.description,
        "status": journey_map.status,
        "conversion_window_days": journey_map.conversion_window_days,
        "personas": [_persona_export(p) for p in journey_map.personas.order_by("name")],
        "stages": [_stage_export(stage) for stage in stages],
    }


def _persona_export(persona: Persona) -> dict[str, Any]:
    return {
        "name": persona.name,
        "summary": persona.summary,
        "age_range": persona.age_range,
        "occupation": persona.occupation,
        "location": persona.location,
        "goals": persona.goals,
        "needs": persona.needs,
        "pain_points": persona.pain_points,
        "motivations": persona.motivations,
        "channels": list(persona.channels),
        "online_behaviour": persona.online_behaviour,
        "quote": persona.quote,
        "segment": _rule_export(persona.segment),
    }


def _stage_export(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "kind": stage.kind,
        "description": stage.description,
        "customer_goal": stage.customer_goal,
        "actions": stage.actions,
        "thoughts": stage.thoughts,
        "feelings": stage.feelings,
        "emotion": stage.emotion,
        "kpis": [
            {"metric": kpi.metric, "target": kpi.target, "direction": kpi.direction}
            for kpi in stage.kpis.all()
        ],
        "touchpoints": [
            {
                "name": tp.name,
                "channel": tp.channel,
                "description": tp.description,
                "owner": tp.owner,
                "emotion": tp.emotion,
                "rule": _rule_export(tp.rule),
            }
            for tp in stage.touchpoints.all()
        ],
        "pain_points": [
            {
                "title": pp.title,
                "description": pp.description,
                "severity": pp.severity,
                "touchpoint": _same_stage_name(stage, pp.touchpoint, "name"),
                "evidence": pp.evidence,
                "status": pp.status,
            }
            for pp in stage.pain_points.all()
        ],
        "opportunities": [
            {
                "title": op.title,
                "description": op.description,
                "impact": op.impact,
                "effort": op.effort,
                "status": op.status,
                "owner": op.owner,
                "pain_point": _same_stage_name(stage, op.pain_point, "title"),
            }
            for op in stage.opportunities.all()
        ],
    }


RULE_CONDITION_KEYS = ("field", "op", "value")


def _rule_export(rule: Any) -> Any:
    """The rule with its keys in the documented order, whatever order the database kept."""
    # PostgreSQL's jsonb stores object keys in its own order ("op" before "field"); without this
    # the same map would export differently from SQLite and PostgreSQL.
    if not isinstance(rule, dict) or len(rule) != 1:
        return rule
    [(combinator, conditions)] = rule.items()
    if not isinstance(conditions, list):
        return rule
    return {
        combinator: [
            (
                {key: condition[key] for key in RULE_CONDITION_KEYS if key in condition}
                | {key: value for key, value in condition.items() if key not in RULE_CONDITION_KEYS}
            )
            if isinstance(condition, dict)
            else condition
            for condition in conditions
        ]
    }


def _same_stage_name(stage: Stage, card: Touchpoint | PainPoint | None, attribute: str) -> Any:
    # The JSON links cards by name within their stage; a link to a card that has since moved to
    # another stage cannot be written that way, and exporting it would make a file that no longer
    # imports, so it is left out.
    if card is None or card.stage_id != stage.pk:
        return None
    return getattr(card, attribute)


def map_export_text(journey_map: JourneyMap) -> str:
    """The export as pretty-printed JSON text ending in a newline."""
    return json.dumps(map_export(journey_map), indent=2, ensure_ascii=False) + "\n"


# --- import: the schema ----------------------------------------------------------------------

REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """One key of a JSON object: its kind, default (REQUIRED if it must be there) and choices."""

    kind: str  # "text", "int", "number?", "text?", "rule", "list", "text-list", "enum"
    default: Any = ""
    choices: tuple[str, ...] = field(default=())


def _enum(choices: type[models.TextChoices], default: str) -> Key:
    return Key("enum", default, tuple(choices.values))


MAP_KEYS = {
    "schema": Key("text", REQUIRED),
    "name": Key("text", REQUIRED),
    "slug": Key("text", ""),
    "description": Key("text"),
    "status": _enum(MapStatus, "draft"),
    "conversion_window_days": Key("int", 30),
    "personas": Key("list", ()),
    "stages": Key("list", REQUIRED),
}
PERSONA_KEYS = {
    "name": Key("text", REQUIRED),
    "summary": Key("text"),
    "age_range": Key("text"),
    "occupation": Key("text"),
    "location": Key("text"),
    "goals": Key("text"),
    "needs": Key("text"),
    "pain_points": Key("text"),
    "motivations": Key("text"),
    "channels": Key("text-list", ()),
    "online_behaviour": Key("text"),
    "quote": Key("text"),
    "segment": Key("rule", None),
}
STAGE_KEYS = {
    "name": Key("text", REQUIRED),
    "kind": _enum(StageKind, "custom"),
    "description": Key("text"),
    "customer_goal": Key("text"),
    "actions": Key("text"),
    "thoughts": Key("text"),
    "feelings": Key("text"),
    "emotion": Key("int", 0),
    "kpis": Key("list", ()),
    "touchpoints": Key("list", ()),
    "pain_points": Key("list", ()),
    "opportunities": Key("list", ()),
}
KPI_KEYS = {
    "metric": _enum(Metric, "users"),
    "target": Key("number?", None),
    "direction": _enum(Direction, "higher"),
}
TOUCHPOINT_KEYS = {
    "name": Key("text", REQUIRED),
    "channel": _enum(Channel, "other"),
    "description": Key("text"),
    "owner": Key("text"),
    "emotion": Key("int", 0),
    "rule": Key("rule", None),
}
PAIN_POINT_KEYS = {
    "title": Key("text"),
    "description": Key("text"),
    "severity": Key("int", 3),
    "touchpoint": Key("text?", None),
    "evidence": Key("text"),
    "status": _enum(PainPointStatus, "open"),
}
OPPORTUNITY_KEYS = {
    "title": Key("text"),
    "description": Key("text"),
    "impact": Key("int", 3),
    "effort": Key("int", 3),
    "status": _enum(OpportunityStatus, "idea"),
    "owner": Key("text"),
    "pain_point": Key("text?", None),
}


def _read_object(value: Any, keys: dict[str, Key], path: str) -> dict[str, Any]:
    """Check an object against its keys; return it with the defaults filled in."""
    if not isinstance(value, dict):
        raise MapJSONError(path or "$", f"must be an object, not {_json_type(value)}")
    prefix = f"{path}." if path else ""
    for name in value:
        if name not in keys:
            raise MapJSONError(_key_path(path, name), f"unknown key; allowed: {', '.join(keys)}")
    result = {}
    for name, key in keys.items():
        where = f"{prefix}{name}"
        if name not in value:
            if key.default is REQUIRED:
                raise MapJSONError(where, "is required")
            result[name] = list(key.default) if isinstance(key.default, tuple) else key.default
            continue
        result[name] = _read_value(value[name], key, where)
    return result


PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _key_path(path: str, name: str) -> str:
    """Where an unknown key is; one that is empty or not a plain name is shown quoted."""
    if PLAIN_KEY.fullmatch(name) and len(name) <= 60:
        return f"{path}.{name}" if path else name
    shown = json.dumps(name if len(name) <= 60 else name[:60] + "…", ensure_ascii=False)
    return f"{path or '$'}[{shown}]"


def _read_value(value: Any, key: Key, path: str) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    is_whole = is_number and (isinstance(value, int) or value.is_integer())
    match key.kind:
        case "text" | "enum" if not isinstance(value, str):
            raise MapJSONError(path, f"must be a string, not {_json_type(value)}")
        case "text?" if value is not None and not isinstance(value, str):
            raise MapJSONError(path, f"must be a string or null, not {_json_type(value)}")
        case "int" if not is_whole:
            shown = value if is_number else _json_type(value)  # "not 1.5", "not a string"
            raise MapJSONError(path, f"must be a whole number, not {shown}")
        case "number?" if value is not None and not is_number:
            raise MapJSONError(path, f"must be a number or null, not {_json_type(value)}")
        case "number?" if value is not None and not _is_finite(value):
            raise MapJSONError(path, "is too large a number")
        case "list" if not isinstance(value, list):
            raise MapJSONError(path, f"must be a list, not {_json_type(value)}")
        case "text-list" if not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            raise MapJSONError(path, "must be a list of strings")
        case "rule":
            try:
                validate_rule(value, path)
            except RuleError as error:
                raise MapJSONError(error.path, error.message) from None
    if key.kind == "enum" and value not in key.choices:
        raise MapJSONError(path, f"must be one of {', '.join(key.choices)}, not {value!r}")
    if key.kind == "int":
        return int(value)
    if key.kind == "number?" and value is not None:
        return float(value)
    return value


def _is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _check_model(instance: models.Model, path: str, exclude: list[str]) -> None:
    """Run the model's own validation (lengths, ranges, choices) and name the JSON path."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        name, messages = next(iter(error.message_dict.items()))
        field_name = "" if name == "__all__" else name
        where = ".".join(part for part in (path, field_name) if part) or "$"
        raise MapJSONError(where, messages[0]) from None


# --- import: building the map ----------------------------------------------------------------


@dataclass
class _PlannedStage:
    stage: Stage
    kpis: list[StageKPI]
    touchpoints: list[Touchpoint]
    pain_points: list[tuple[PainPoint, str | None]]
    opportunities: list[tuple[Opportunity, str | None]]


def parse_map_json(text: str | bytes) -> Any:
    """Decode a JSON document, or raise MapJSONError saying where it is broken."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise MapJSONError("$", f"the file is not UTF-8 text (byte {error.start})") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise MapJSONError(
            "$", f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise MapJSONError("$", "not valid JSON: nested too deeply") from None
    except MapJSONError:
        raise
    except ValueError as error:  # e.g. an integer longer than Python converts (4300 digits)
        raise MapJSONError("$", f"not valid JSON: {error}") from None
    if (problem := _find_unstorable(data)) is not None:
        raise MapJSONError(*problem)
    return data


def _refuse_constant(name: str) -> None:
    raise MapJSONError("$", f"not valid JSON: {name} is not a number JSON allows")


def _find_unstorable(data: Any) -> tuple[str, str] | None:
    """The path of the first value no database can store (a NUL character, an infinite number)."""
    # Iterative, so that a deeply nested document cannot exhaust the Python stack.
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return path or "$", "contains a NUL character (\\u0000), which cannot be stored"
        if isinstance(value, float) and not math.isfinite(value):
            return path or "$", "is too large a number"
        children: list[tuple[str, Any]] = []
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return path or "$", "has a key with a NUL character (\\u0000)"
                children.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        pending.extend(reversed(children))
    return None


def map_import(
    *, data: Any, workspace: Workspace, user: AbstractBaseUser | None = None
) -> JourneyMap:
    """Create a map (and any missing personas) from a journeymap/v1 document, all or nothing."""
    planned = _plan_map(data, workspace)
    journey_map = planned.journey_map
    journey_map.created_by = user
    with transaction.atomic():
        _save_with_unique_slug(journey_map)
        _save_content(journey_map, planned)
        MapChange.objects.create(
            map=journey_map, user=user, action="imported", summary=f"Created {journey_map.name}"
        )
    return journey_map


# The map's own fields a document sets on an existing map (its slug stays: links keep working).
REPLACED_MAP_FIELDS = ["name", "description", "status", "conversion_window_days"]


def map_replace_content(*, journey_map: JourneyMap, data: Any) -> JourneyMap:
    """Make an existing map's own fields (but its slug), personas and stages those of a document.

    Validated exactly as an import, and all or nothing: a bad document raises MapJSONError and
    leaves the map as it was. The map keeps its id and slug; its `version` is bumped, so that an
    editor holding the old header gets a stale refusal instead of overwriting the new content.
    """
    planned = _plan_map(data, journey_map.workspace)
    with transaction.atomic():
        for name in REPLACED_MAP_FIELDS:
            setattr(journey_map, name, getattr(planned.journey_map, name))
        journey_map.version = models.F("version") + 1
        journey_map.save(update_fields=[*REPLACED_MAP_FIELDS, "version", "updated_at"])
        journey_map.refresh_from_db(fields=["version"])
        journey_map.stages.all().delete()  # their cards go with them
        _save_content(journey_map, planned)
    return journey_map


def map_validate(*, data: Any, workspace: Workspace) -> None:
    """Raise MapJSONError if the document would not import; write nothing."""
    _plan_map(data, workspace)


@dataclass
class _PlannedMap:
    journey_map: JourneyMap  # unsaved, validated
    personas: list[Persona]  # unsaved; matched by name with the workspace's when saved
    stages: list[_PlannedStage]


def _plan_map(data: Any, workspace: Workspace) -> _PlannedMap:
    """Validate a whole document and build (unsaved) everything it describes."""
    # The schema first: a document of another version is best told so, not about its keys.
    if isinstance(data, dict) and "schema" in data and data["schema"] != SCHEMA:
        raise MapJSONError("schema", f'must be "{SCHEMA}", not {data["schema"]!r}')
    document = _read_object(data, MAP_KEYS, "")
    if document["slug"]:
        try:
            slug_validator(document["slug"])
        except ValidationError as error:
            raise MapJSONError("slug", error.messages[0]) from None

    journey_map = JourneyMap(
        workspace=workspace,
        name=document["name"],
        slug=document["slug"] or slug_from_name(document["name"]),
        description=document["description"],
        status=document["status"],
        conversion_window_days=document["conversion_window_days"],
    )
    _check_model(journey_map, "", exclude=["workspace", "created_by"])

    personas = []
    names_seen = set()
    for index, raw in enumerate(document["personas"]):
        path = f"personas[{index}]"
        fields = _read_object(raw, PERSONA_KEYS, path)
        if fields["name"] in names_seen:
            raise MapJSONError(f"{path}.name", f"persona {fields['name']!r} is listed twice")
        names_seen.add(fields["name"])
        persona = Persona(workspace=workspace, **fields)
        _check_model(persona, path, exclude=["workspace", "avatar"])
        personas.append(persona)

    stages = [
        _plan_stage(raw, f"stages[{index}]", position=index + 1)
        for index, raw in enumerate(document["stages"])
    ]
    return _PlannedMap(journey_map, personas, stages)


def _save_content(journey_map: JourneyMap, planned: _PlannedMap) -> None:
    """Put the planned personas (creating missing ones) and stages on a saved map."""
    existing = {p.name: p for p in Persona.objects.filter(workspace=journey_map.workspace)}
    for persona in planned.personas:
        if persona.name not in existing:
            persona.save()
            existing[persona.name] = persona
    journey_map.personas.set([existing[p.name] for p in planned.personas])
    for stage in planned.stages:
        _save_stage(journey_map, stage)


def _plan_stage(raw: Any, path: str, position: int) -> _PlannedStage:
    fields = _read_object(raw, STAGE_KEYS, path)
    children = {name: fields.pop(name) for name in ("kpis", "touchpoints", "pain_points")}
    opportunities_raw = fields.pop("opportunities")
    stage = Stage(position=position, **fields)
    _check_model(stage, path, exclude=["map"])

    kpis = []
    for index, item in enumerate(children["kpis"]):
        kpi = StageKPI(**_read_object(item, KPI_KEYS, f"{path}.kpis[{index}]"))
        _check_model(kpi, f"{path}.kpis[{index}]", exclude=["stage"])
        kpis.append(kpi)

    touchpoints = []
    for index, item in enumerate(children["touchpoints"]):
        where = f"{path}.touchpoints[{index}]"
        touchpoint = Touchpoint(position=index + 1, **_read_object(item, TOUCHPOINT_KEYS, where))
        _check_model(touchpoint, where, exclude=["stage"])
        touchpoints.append(touchpoint)
    touchpoint_names = {tp.name for tp in touchpoints}

    pain_points = []
    for index, item in enumerate(children["pain_points"]):
        where = f"{path}.pain_points[{index}]"
        fields = _read_object(item, PAIN_POINT_KEYS, where)
        touchpoint_name = fields.pop("touchpoint")
        if touchpoint_name is not None and touchpoint_name not in touchpoint_names:
            raise MapJSONError(
                f"{where}.touchpoint", f"no touchpoint named {touchpoint_name!r} in this stage"
            )
        pain_point = PainPoint(**fields)
        _check_model(pain_point, where, exclude=["stage", "touchpoint"])
        pain_points.append((pain_point, touchpoint_name))
    pain_point_titles = {pp.title for pp, _ in pain_points}

    opportunities = []
    for index, item in enumerate(opportunities_raw):
        where = f"{path}.opportunities[{index}]"
        fields = _read_object(item, OPPORTUNITY_KEYS, where)
        pain_point_title = fields.pop("pain_point")
        if pain_point_title is not None and pain_point_title not in pain_point_titles:
            raise MapJSONError(
                f"{where}.pain_point", f"no pain point titled {pain_point_title!r} in this stage"
            )
        opportunity = Opportunity(**fields)
        _check_model(opportunity, where, exclude=["stage", "pain_point"])
        opportunities.append((opportunity, pain_point_title))

    return _PlannedStage(stage, kpis, touchpoints, pain_points, opportunities)


def _save_stage(journey_map: JourneyMap, planned: _PlannedStage) -> None:
    planned.stage.map = journey_map
    planned.stage.save()
    for kpi in planned.kpis:
        kpi.stage = planned.stage
        kpi.save()
    touchpoints_by_name: dict[str, Touchpoint] = {}
    for touchpoint in planned.touchpoints:
        touchpoint.stage = planned.stage
        touchpoint.save()
        touchpoints_by_name.setdefault(touchpoint.name, touchpoint)
    pain_points_by_title: dict[str, PainPoint] = {}
    for pain_point, touchpoint_name in planned.pain_points:
        pain_point.stage = planned.stage
        pain_point.touchpoint = touchpoints_by_name.get(touchpoint_name or "")
        pain_point.save()
        pain_points_by_title.setdefault(pain_point.title, pain_point)
    for opportunity, pain_point_title in planned.opportunities:
        opportunity.stage = planned.stage
        opportunity.pain_point = (
            pain_points_by_title[pain_point_title] if pain_point_title is not None else None
        )
        opportunity.save()


def _save_with_unique_slug(journey_map: JourneyMap, attempts: int = 5) -> None:
    # Two imports of the same slug at once can both find it free; the loser tries the next one.
    wanted = journey_map.slug
    for attempt in range(attempts):
        journey_map.slug = unique_map_slug(journey_map.workspace, wanted)
        try:
            with transaction.atomic():
                journey_map.save()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
        else:
            return


SLUG_MAX_LENGTH = JourneyMap._meta.get_field("slug").max_length


def slug_from_name(name: str) -> str:
    """A map slug made from its name: lowercase ASCII words joined by hyphens, or "map"."""
    # slugify keeps underscores, which map slugs do not allow: they separate words too.
    return slugify(name.replace("_", " "))[: SLUG_MAX_LENGTH - 10].strip("-") or "map"


def unique_map_slug(workspace: Workspace, slug: str) -> str:
    """`slug`, or `slug-2`, `slug-3`, ... — the first one not yet used in the workspace."""
    taken = set(
        JourneyMap.objects.filter(
            workspace=workspace, slug__startswith=slug[: SLUG_MAX_LENGTH - 12]
        ).values_list("slug", flat=True)
    )
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = slug[: SLUG_MAX_LENGTH - len(suffix)].rstrip("-") + suffix
    return candidate
