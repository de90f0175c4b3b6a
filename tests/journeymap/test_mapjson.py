"""Map JSON (DESIGN §8): the export contract, exact round trips, every way an import is refused."""

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from journeymap import mapjson
from journeymap.mapjson import (
    SCHEMA,
    MapJSONError,
    map_export,
    map_export_text,
    map_import,
    parse_map_json,
)
from journeymap.models import JourneyMap, MapChange, slug_validator
from personas.models import Persona
from stages.models import Stage, StageKPI
from tests import factories
from touchpoints.models import Opportunity, PainPoint, Touchpoint

# --- a map with every kind of content ---------------------------------------------------------


@pytest.fixture
def rich_map(workspace, ws_admin) -> JourneyMap:
    """A map using every field, both forms of every optional link, and cards out of id order."""
    maya = factories.make_persona(
        workspace,
        "Mobile-first Maya",
        summary="Shops on her phone between shifts.",
        age_range="25-34",
        occupation="Nurse",
        location="Manchester",
        goals="Pay in a few taps.",
        needs="Wallet payments.",
        pain_points="Long forms.",
        motivations="Convenience.",
        channels=["social", "mobile_app"],
        online_behaviour="Instagram on breaks.",
        quote="If I can't pay with my phone, I'll do it later — and forget.",
        segment={"all": [{"field": "device", "op": "equals", "value": "mobile"}]},
    )
    ben = factories.make_persona(workspace, "Bargain hunter Ben", summary="Waits for a code.")
    factories.make_persona(workspace, "Not on this map")
    journey_map = factories.make_map(
        workspace,
        "Checkout journey",
        slug="checkout-journey",
        description="From the first ad to the review.\nSecond line, «quoted».",
        status="published",
        conversion_window_days=14,
        created_by=ws_admin,
    )
    journey_map.personas.set([maya, ben])

    consideration = factories.make_stage(journey_map, "Consideration", position=2)
    awareness = factories.make_stage(
        journey_map,
        "Awareness",
        position=1,
        kind="awareness",
        description="They find us.",
        customer_goal="Find a fitting product.",
        actions="Sees an ad, clicks.",
        thoughts="Is this any good?",
        feelings="Curious",
        emotion=1,
    )
    consideration.kind, consideration.emotion = "consideration", -2
    consideration.save()
    factories.make_stage(journey_map, "Empty stage", position=3)

    factories.make_kpi(awareness, "users", target=3000, direction="higher")
    factories.make_kpi(awareness, "bounce_rate", target=0.4, direction="lower")
    factories.make_kpi(consideration, "conversion_rate", target=None)

    landing = factories.make_touchpoint(
        awareness,
        "Landing pages",
        position=2,
        channel="website",
        description="Campaign pages.",
        owner="Web team",
        emotion=-1,
        rule={"any": [{"field": "event", "op": "in", "value": ["page_view", "view"]}]},
    )
    ads = factories.make_touchpoint(
        awareness,
        "Instagram ads",
        position=1,
        channel="ads",
        rule={
            "all": [
                {"field": "event", "op": "equals", "value": "page_view"},
                {"field": "revenue", "op": "gt", "value": 7.5},
                {"field": "page", "op": "regex", "value": r"^/p/\d+"},
            ]
        },
    )
    factories.make_touchpoint(consideration, "Size guide", channel="website", rule=None)

    slow = factories.make_pain_point(
        awareness,
        "Slow landing pages",
        description="4 s on mobile.",
        severity=5,
        touchpoint=landing,
        evidence="Lighthouse 38.",
        status="investigating",
    )
    factories.make_pain_point(awareness, "Ads overpromise", severity=1, touchpoint=ads)
    unlinked = factories.make_pain_point(consideration, "No delivery price", touchpoint=None)
    factories.make_opportunity(
        awareness,
        "Lighter pages",
        description="Compress images.",
        impact=5,
        effort=1,
        status="in_progress",
        owner="Web team",
        pain_point=slow,
    )
    factories.make_opportunity(awareness, "Brand film", pain_point=None, status="done")
    factories.make_opportunity(consideration, "Delivery estimate", pain_point=unlinked)
    return journey_map


def counts() -> dict[str, int]:
    """How many of each object exist: an import that fails must leave all of these unchanged."""
    models = (JourneyMap, Stage, StageKPI, Touchpoint, PainPoint, Opportunity, Persona, MapChange)
    return {model.__name__: model.objects.count() for model in models}


# --- export: the contract ---------------------------------------------------------------------

NULLABLE_TEXT = (str, type(None))
NULLABLE_RULE = (dict, type(None))
CONTRACT = {
    "map": {
        "schema": str,
        "name": str,
        "slug": str,
        "description": str,
        "status": str,
        "conversion_window_days": int,
        "personas": list,
        "stages": list,
    },
    "persona": {
        "name": str,
        "summary": str,
        "age_range": str,
        "occupation": str,
        "location": str,
        "goals": str,
        "needs": str,
        "pain_points": str,
        "motivations": str,
        "channels": list,
        "online_behaviour": str,
        "quote": str,
        "segment": NULLABLE_RULE,
    },
    "stage": {
        "name": str,
        "kind": str,
        "description": str,
        "customer_goal": str,
        "actions": str,
        "thoughts": str,
        "feelings": str,
        "emotion": int,
        "kpis": list,
        "touchpoints": list,
        "pain_points": list,
        "opportunities": list,
    },
    "kpi": {"metric": str, "target": (float, type(None)), "direction": str},
    "touchpoint": {
        "name": str,
        "channel": str,
        "description": str,
        "owner": str,
        "emotion": int,
        "rule": NULLABLE_RULE,
    },
    "pain_point": {
        "title": str,
        "description": str,
        "severity": int,
        "touchpoint": NULLABLE_TEXT,
        "evidence": str,
        "status": str,
    },
    "opportunity": {
        "title": str,
        "description": str,
        "impact": int,
        "effort": int,
        "status": str,
        "owner": str,
        "pain_point": NULLABLE_TEXT,
    },
}


def assert_follows_contract(value: dict, kind: str, seen_types: set) -> None:
    expected = CONTRACT[kind]
    assert list(value) == list(expected), f"{kind} keys"
    for key, types in expected.items():
        # bool is an int in Python; the contract's whole numbers must never be booleans
        assert isinstance(value[key], types) and not isinstance(value[key], bool), (kind, key)
        seen_types.add((kind, key, type(value[key])))


def test_export_writes_every_key_of_the_contract_with_its_type(rich_map):
    document = map_export(rich_map)
    seen: set = set()

    assert_follows_contract(document, "map", seen)
    for persona in document["personas"]:
        assert_follows_contract(persona, "persona", seen)
        assert all(isinstance(channel, str) for channel in persona["channels"])
    for stage in document["stages"]:
        assert_follows_contract(stage, "stage", seen)
        for kind, items in (
            ("kpi", stage["kpis"]),
            ("touchpoint", stage["touchpoints"]),
            ("pain_point", stage["pain_points"]),
            ("opportunity", stage["opportunities"]),
        ):
            for item in items:
                assert_follows_contract(item, kind, seen)

    # both forms of every nullable value occurred, so both were checked
    for kind, key in [
        ("persona", "segment"),
        ("kpi", "target"),
        ("touchpoint", "rule"),
        ("pain_point", "touchpoint"),
        ("opportunity", "pain_point"),
    ]:
        assert {t for k, name, t in seen if (k, name) == (kind, key)} >= {type(None)}, key
        assert len({t for k, name, t in seen if (k, name) == (kind, key)}) == 2, key


def test_export_has_the_values_in_position_order_with_links_by_name(rich_map):
    document = map_export(rich_map)

    assert document["schema"] == "journeymap/v1"
    assert (document["name"], document["slug"], document["status"]) == (
        "Checkout journey",
        "checkout-journey",
        "published",
    )
    assert document["conversion_window_days"] == 14
    assert [p["name"] for p in document["personas"]] == ["Bargain hunter Ben", "Mobile-first Maya"]
    assert [s["name"] for s in document["stages"]] == ["Awareness", "Consideration", "Empty stage"]
    awareness = document["stages"][0]
    assert [t["name"] for t in awareness["touchpoints"]] == ["Instagram ads", "Landing pages"]
    assert awareness["kpis"] == [
        {"metric": "users", "target": 3000.0, "direction": "higher"},
        {"metric": "bounce_rate", "target": 0.4, "direction": "lower"},
    ]
    assert awareness["pain_points"][0]["touchpoint"] == "Landing pages"
    assert awareness["opportunities"][0]["pain_point"] == "Slow landing pages"
    assert awareness["opportunities"][1]["pain_point"] is None
    assert document["stages"][2] == {
        "name": "Empty stage",
        "kind": "custom",
        "description": "",
        "customer_goal": "",
        "actions": "",
        "thoughts": "",
        "feelings": "",
        "emotion": 0,
        "kpis": [],
        "touchpoints": [],
        "pain_points": [],
        "opportunities": [],
    }


def test_export_text_is_indented_utf8_json_ending_in_a_newline(rich_map):
    text = map_export_text(rich_map)

    assert text.endswith("}\n")
    assert '\n  "name": "Checkout journey",' in text
    assert "«quoted»" in text  # readable, not \u00ab escapes
    assert json.loads(text) == map_export(rich_map)


def test_export_writes_rule_keys_in_the_documented_order_on_every_database(workspace):
    # PostgreSQL's jsonb reorders object keys; SQLite keeps them as saved. Either way, the file
    # reads field, op, value, so the same map exports to the same text everywhere.
    stage = factories.make_stage(factories.make_map(workspace, "Rules"))
    factories.make_touchpoint(
        stage, rule={"any": [{"value": ["view", "cart"], "op": "in", "field": "event"}]}
    )
    factories.make_persona(
        workspace, segment={"all": [{"value": 100, "op": "gt", "field": "revenue"}]}
    ).maps.add(stage.map)

    text = map_export_text(JourneyMap.objects.get(pk=stage.map.pk))

    assert list(json.loads(text)["stages"][0]["touchpoints"][0]["rule"]["any"][0]) == [
        "field",
        "op",
        "value",
    ]
    assert '"segment": {\n        "all": [\n          {\n            "field": "revenue",\n' in text


# --- round trips ------------------------------------------------------------------------------


def test_round_trip_into_another_workspace_is_exact(rich_map, other_workspace):
    exported = map_export(rich_map)

    copy_ = map_import(data=json.loads(map_export_text(rich_map)), workspace=other_workspace)

    assert copy_.workspace == other_workspace
    assert map_export(copy_) == exported
    assert map_export_text(copy_) == map_export_text(rich_map)
    assert set(copy_.personas.values_list("workspace", flat=True)) == {other_workspace.pk}


def test_round_trip_into_the_same_workspace_only_changes_the_taken_slug(rich_map, workspace):
    exported = map_export(rich_map)

    copy_ = map_import(data=exported, workspace=workspace)

    again = map_export(copy_)
    assert again.pop("slug") == "checkout-journey-2"
    exported.pop("slug")
    assert again == exported
    # the personas were matched by name, not duplicated
    assert Persona.objects.filter(workspace=workspace).count() == 3


def test_a_link_to_a_card_moved_to_another_stage_is_exported_as_null_and_imports(
    rich_map, other_workspace
):
    awareness, consideration = rich_map.stages.order_by("position")[:2]
    landing = awareness.touchpoints.get(name="Landing pages")
    landing.stage = consideration  # moved in the editor; its pain point stayed in Awareness
    landing.save()
    slow = awareness.pain_points.get(title="Slow landing pages")
    slow.stage = consideration  # moved; the opportunity pointing at it stayed in Awareness
    slow.save()

    document = map_export(rich_map)

    assert document["stages"][0]["opportunities"][0]["pain_point"] is None
    moved = {pp["title"]: pp for pp in document["stages"][1]["pain_points"]}
    assert moved["Slow landing pages"]["touchpoint"] == "Landing pages"  # together again
    copy_ = map_import(data=document, workspace=other_workspace)
    assert map_export(copy_) == document


# --- import: defaults, personas, slugs --------------------------------------------------------


def test_a_minimal_document_gets_every_default(workspace):
    journey_map = map_import(
        data={"schema": SCHEMA, "name": "Quick map", "stages": [{"name": "Awareness"}]},
        workspace=workspace,
    )

    assert map_export(journey_map) == {
        "schema": "journeymap/v1",
        "name": "Quick map",
        "slug": "quick-map",
        "description": "",
        "status": "draft",
        "conversion_window_days": 30,
        "personas": [],
        "stages": [
            {
                "name": "Awareness",
                "kind": "custom",
                "description": "",
                "customer_goal": "",
                "actions": "",
                "thoughts": "",
                "feelings": "",
                "emotion": 0,
                "kpis": [],
                "touchpoints": [],
                "pain_points": [],
                "opportunities": [],
            }
        ],
    }


def test_minimal_cards_get_their_defaults(workspace):
    journey_map = map_import(
        data={
            "schema": SCHEMA,
            "name": "Cards",
            "personas": [{"name": "Maya"}],
            "stages": [
                {
                    "name": "Purchase",
                    "kpis": [{}],
                    "touchpoints": [{"name": "Checkout"}],
                    "pain_points": [{}],
                    "opportunities": [{}],
                }
            ],
        },
        workspace=workspace,
    )

    document = map_export(journey_map)
    assert document["personas"] == [
        {
            "name": "Maya",
            "summary": "",
            "age_range": "",
            "occupation": "",
            "location": "",
            "goals": "",
            "needs": "",
            "pain_points": "",
            "motivations": "",
            "channels": [],
            "online_behaviour": "",
            "quote": "",
            "segment": None,
        }
    ]
    stage = document["stages"][0]
    assert stage["kpis"] == [{"metric": "users", "target": None, "direction": "higher"}]
    assert stage["touchpoints"] == [
        {
            "name": "Checkout",
            "channel": "other",
            "description": "",
            "owner": "",
            "emotion": 0,
            "rule": None,
        }
    ]
    assert stage["pain_points"] == [
        {
            "title": "",
            "description": "",
            "severity": 3,
            "touchpoint": None,
            "evidence": "",
            "status": "open",
        }
    ]
    assert stage["opportunities"] == [
        {
            "title": "",
            "description": "",
            "impact": 3,
            "effort": 3,
            "status": "idea",
            "owner": "",
            "pain_point": None,
        }
    ]


def test_an_existing_persona_is_reused_by_name_not_duplicated_nor_changed(workspace):
    ours = factories.make_persona(workspace, "Bargain hunter", summary="Ours")

    journey_map = map_import(
        data={
            "schema": SCHEMA,
            "name": "Imported",
            "personas": [{"name": "Bargain hunter", "summary": "Theirs"}, {"name": "New one"}],
            "stages": [],
        },
        workspace=workspace,
    )

    assert list(journey_map.personas.order_by("name")) == [
        ours,
        Persona.objects.get(workspace=workspace, name="New one"),
    ]
    ours.refresh_from_db()
    assert ours.summary == "Ours"
    assert Persona.objects.filter(workspace=workspace).count() == 2


def test_a_persona_of_another_workspace_is_not_reused(workspace, other_workspace):
    theirs = factories.make_persona(other_workspace, "Bargain hunter")

    journey_map = map_import(
        data={
            "schema": SCHEMA,
            "name": "M",
            "personas": [{"name": "Bargain hunter"}],
            "stages": [],
        },
        workspace=workspace,
    )

    assert journey_map.personas.get().workspace == workspace
    assert journey_map.personas.get() != theirs


def test_importing_a_taken_slug_gets_2_then_3(workspace):
    document = {"schema": SCHEMA, "name": "Journey", "slug": "journey", "stages": []}

    slugs = [map_import(data=document, workspace=workspace).slug for _ in range(3)]

    assert slugs == ["journey", "journey-2", "journey-3"]


def test_a_slug_taken_by_another_workspace_is_kept(workspace, other_workspace):
    factories.make_map(other_workspace, "Journey", slug="journey")

    journey_map = map_import(
        data={"schema": SCHEMA, "name": "Journey", "slug": "journey", "stages": []},
        workspace=workspace,
    )

    assert journey_map.slug == "journey"


def test_a_slug_taken_at_the_last_moment_moves_on_to_the_next(workspace, monkeypatch):
    factories.make_map(workspace, "Journey", slug="journey")
    real_unique_map_slug = mapjson.unique_map_slug
    looks = []

    def stale_then_real(target, slug):
        # The first look happened before another request saved "journey".
        looks.append(slug)
        return slug if len(looks) == 1 else real_unique_map_slug(target, slug)

    monkeypatch.setattr(mapjson, "unique_map_slug", stale_then_real)

    journey_map = map_import(
        data={"schema": SCHEMA, "name": "Journey", "slug": "journey", "stages": []},
        workspace=workspace,
    )

    assert journey_map.slug == "journey-2"
    assert len(looks) == 2


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Ünïcödé journey: 2024!", "unicode-journey-2024"),
        ("Q3_launch", "q3-launch"),
        ("Spring sale (copy)_2", "spring-sale-copy-2"),
        ("snake__case_ -name", "snake-case-name"),
        ("Путь клиента", "map"),
        ("   ", "map"),
        ("word " * 40, ("word-" * 14)[:-1]),  # cut at 70 characters, never ending in a hyphen
    ],
)
def test_a_slug_is_made_from_the_name(workspace, name, slug):
    journey_map = map_import(
        data={"schema": SCHEMA, "name": name, "stages": []}, workspace=workspace
    )

    assert journey_map.slug == slug
    slug_validator(journey_map.slug)


def test_a_full_length_slug_stays_within_the_limit_when_numbered(workspace):
    long_slug = "a" * 79 + "b"
    document = {"schema": SCHEMA, "name": "Long", "slug": long_slug, "stages": []}

    first = map_import(data=document, workspace=workspace)
    second = map_import(data=document, workspace=workspace)

    assert first.slug == long_slug
    assert second.slug == "a" * 78 + "-2"
    JourneyMap.objects.get(pk=second.pk)  # stored as such, on every database


def test_import_records_who_created_the_map_in_its_change_log(workspace, ws_admin):
    journey_map = map_import(
        data={"schema": SCHEMA, "name": "Logged", "stages": []}, workspace=workspace, user=ws_admin
    )

    assert journey_map.created_by == ws_admin
    change = journey_map.changes.get()
    assert (change.user, change.action, change.summary) == (ws_admin, "imported", "Created Logged")


def test_a_file_with_a_byte_order_mark_is_read():
    data = parse_map_json('\ufeff{"schema": "journeymap/v1"}'.encode())

    assert data == {"schema": "journeymap/v1"}


# --- import: every refusal names its JSON path and creates nothing ----------------------------

BASE: dict[str, Any] = {
    "schema": SCHEMA,
    "name": "Checkout journey",
    "personas": [{"name": "Bargain hunter", "segment": None}],
    "stages": [
        {
            "name": "Awareness",
            "kpis": [{"metric": "users", "target": 100}],
            "touchpoints": [
                {
                    "name": "Instagram ads",
                    "rule": {"all": [{"field": "event", "op": "equals", "value": "view"}]},
                }
            ],
            "pain_points": [{"title": "Slow page", "touchpoint": "Instagram ads"}],
            "opportunities": [{"title": "Faster page", "pain_point": "Slow page"}],
        },
        {"name": "Purchase", "touchpoints": [{"name": "Checkout"}]},
    ],
}
RULE = ("stages", 0, "touchpoints", 0, "rule")


def changed(*path_and_value: Any) -> str:
    """BASE as JSON text with the value at `path` replaced (or removed, when it is REMOVE)."""
    *path, value = path_and_value
    document = copy.deepcopy(BASE)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if value is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return json.dumps(document)


REMOVE = object()


def condition(**fields: Any) -> dict:
    return {"all": [{"field": "event", "op": "equals", "value": "view", **fields}]}


def test_the_base_document_of_the_refusals_below_is_valid(workspace):
    journey_map = map_import(data=parse_map_json(changed("name", "Valid")), workspace=workspace)

    assert journey_map.stages.count() == 2


REFUSALS: list[tuple[str, str | bytes, str, str]] = [
    # (what, the file, the path, part of the message)
    ("not JSON", "{name: 1}", "$", "not valid JSON: Expecting property name enclosed in double"),
    ("empty file", "", "$", "not valid JSON: Expecting value at line 1, column 1"),
    ("trailing text", changed("name", "x") + " x", "$", "not valid JSON: Extra data"),
    ("not UTF-8", b'{"name": "caf\xe9"}', "$", "the file is not UTF-8 text (byte 13)"),
    ("a list", "[]", "$", "must be an object, not a list"),
    ("a string", '"map"', "$", "must be an object, not a string"),
    ("null", "null", "$", "must be an object, not null"),
    ("NaN", changed("name", "x").replace('"x"', "NaN"), "$", "NaN is not a number JSON allows"),
    ("Infinity", '{"schema": Infinity}', "$", "Infinity is not a number JSON allows"),
    ("-Infinity", '{"schema": -Infinity}', "$", "-Infinity is not a number JSON allows"),
    (
        "a number too large for a float",
        changed("stages", 0, "kpis", 0, "target", 1).replace('"target": 1', '"target": 1e400'),
        "stages[0].kpis[0].target",
        "is too large a number",
    ),
    (
        "an integer of 5000 digits",
        changed("conversion_window_days", 1).replace(
            '"conversion_window_days": 1', '"conversion_window_days": ' + "9" * 5000
        ),
        "$",
        "not valid JSON: Exceeds the limit (4300 digits)",
    ),
    (
        "an integer too large for a float as a target",
        changed("stages", 0, "kpis", 0, "target", 10**400),
        "stages[0].kpis[0].target",
        "is too large a number",
    ),
    ("nested too deeply", "[" * 100_000 + "]" * 100_000, "$", "not valid JSON: nested too deeply"),
    (
        "NUL character",
        changed("stages", 1, "description", "a\x00b"),
        "stages[1].description",
        "contains a NUL character (\\u0000), which cannot be stored",
    ),
    (
        "NUL character in a key",
        changed("stages", 0, "touchpoints", 0, "no\x00te", 1),
        "stages[0].touchpoints[0]",
        "has a key with a NUL character",
    ),
    # the schema
    ("wrong schema", changed("schema", "journeymap/v2"), "schema", 'must be "journeymap/v1", not'),
    (
        "wrong schema wins over unknown keys",
        changed("schema", "journeymap/v2").replace('"name"', '"title"', 1),
        "schema",
        "'journeymap/v2'",
    ),
    ("schema not a string", changed("schema", 1), "schema", 'must be "journeymap/v1", not 1'),
    ("missing schema", changed("schema", REMOVE), "schema", "is required"),
    # required keys
    ("missing name", changed("name", REMOVE), "name", "is required"),
    ("missing stages", changed("stages", REMOVE), "stages", "is required"),
    ("missing stage name", changed("stages", 1, "name", REMOVE), "stages[1].name", "is required"),
    (
        "missing touchpoint name",
        changed("stages", 1, "touchpoints", 0, "name", REMOVE),
        "stages[1].touchpoints[0].name",
        "is required",
    ),
    (
        "missing persona name",
        changed("personas", 0, "name", REMOVE),
        "personas[0].name",
        "is required",
    ),
    ("empty name", changed("name", ""), "name", "This field cannot be blank."),
    (
        "empty stage name",
        changed("stages", 0, "name", ""),
        "stages[0].name",
        "This field cannot be blank.",
    ),
    # unknown keys at every level
    ("unknown top key", changed("colour", "red"), "colour", "unknown key; allowed: schema, name"),
    ("unknown stage key", changed("stages", 1, "colour", "red"), "stages[1].colour", "unknown key"),
    (
        "unknown touchpoint key",
        changed("stages", 0, "touchpoints", 0, "colour", "red"),
        "stages[0].touchpoints[0].colour",
        "unknown key; allowed: name, channel, description, owner, emotion, rule",
    ),
    (
        "unknown KPI key",
        changed("stages", 0, "kpis", 0, "actual", 5),
        "stages[0].kpis[0].actual",
        "unknown key; allowed: metric, target, direction",
    ),
    (
        "unknown persona key",
        changed("personas", 0, "age", 30),
        "personas[0].age",
        "unknown key",
    ),
    (
        "unknown pain point key",
        changed("stages", 0, "pain_points", 0, "colour", "red"),
        "stages[0].pain_points[0].colour",
        "unknown key",
    ),
    (
        "unknown opportunity key",
        changed("stages", 0, "opportunities", 0, "colour", "red"),
        "stages[0].opportunities[0].colour",
        "unknown key",
    ),
    # wrong types
    (
        "stages not a list",
        changed("stages", {"name": "A"}),
        "stages",
        "must be a list, not an object",
    ),
    (
        "stage not an object",
        changed("stages", ["Awareness"]),
        "stages[0]",
        "must be an object, not a",
    ),
    (
        "touchpoints not a list",
        changed("stages", 0, "touchpoints", "Instagram ads"),
        "stages[0].touchpoints",
        "must be a list, not a string",
    ),
    (
        "persona not an object",
        changed("personas", [None]),
        "personas[0]",
        "must be an object, not null",
    ),
    (
        "string for emotion",
        changed("stages", 0, "emotion", "1"),
        "stages[0].emotion",
        "must be a whole number, not a string",
    ),
    (
        "bool for an int",
        changed("stages", 0, "touchpoints", 0, "emotion", True),
        "stages[0].touchpoints[0].emotion",
        "must be a whole number, not a boolean",
    ),
    (
        "bool for the conversion window",
        changed("conversion_window_days", False),
        "conversion_window_days",
        "must be a whole number, not a boolean",
    ),
    ("list for name", changed("name", ["Checkout"]), "name", "must be a string, not a list"),
    ("number for stage name", changed("stages", 1, "name", 5), "stages[1].name", "not a number"),
    (
        "float for severity",
        changed("stages", 0, "pain_points", 0, "severity", 1.5),
        "stages[0].pain_points[0].severity",
        "must be a whole number, not 1.5",
    ),
    (
        "string for a target",
        changed("stages", 0, "kpis", 0, "target", "100"),
        "stages[0].kpis[0].target",
        "must be a number or null, not a string",
    ),
    (
        "bool for a target",
        changed("stages", 0, "kpis", 0, "target", True),
        "stages[0].kpis[0].target",
        "must be a number or null, not a boolean",
    ),
    (
        "number for a pain point's touchpoint",
        changed("stages", 0, "pain_points", 0, "touchpoint", 1),
        "stages[0].pain_points[0].touchpoint",
        "must be a string or null, not a number",
    ),
    (
        "channels not a list of strings",
        changed("personas", 0, "channels", ["email", 3]),
        "personas[0].channels",
        "must be a list of strings",
    ),
    ("null description", changed("description", None), "description", "must be a string, not null"),
    # out of range
    (
        "emotion above +2",
        changed("stages", 0, "emotion", 3),
        "stages[0].emotion",
        "Ensure this value is less than or equal to 2.",
    ),
    (
        "emotion below -2",
        changed("stages", 1, "touchpoints", 0, "emotion", -3),
        "stages[1].touchpoints[0].emotion",
        "Ensure this value is greater than or equal to -2.",
    ),
    (
        "severity 0",
        changed("stages", 0, "pain_points", 0, "severity", 0),
        "stages[0].pain_points[0].severity",
        "Ensure this value is greater than or equal to 1.",
    ),
    (
        "severity 6",
        changed("stages", 0, "pain_points", 0, "severity", 6),
        "stages[0].pain_points[0].severity",
        "Ensure this value is less than or equal to 5.",
    ),
    (
        "impact 0",
        changed("stages", 0, "opportunities", 0, "impact", 0),
        "stages[0].opportunities[0].impact",
        "greater than or equal to 1",
    ),
    (
        "effort 6",
        changed("stages", 0, "opportunities", 0, "effort", 6),
        "stages[0].opportunities[0].effort",
        "less than or equal to 5",
    ),
    (
        "conversion window 0 days",
        changed("conversion_window_days", 0),
        "conversion_window_days",
        "greater than or equal to 1",
    ),
    (
        "conversion window over ten years",
        changed("conversion_window_days", 3651),
        "conversion_window_days",
        "less than or equal to 3650",
    ),
    # enums
    ("bad map status", changed("status", "live"), "status", "must be one of draft, published"),
    (
        "bad stage kind",
        changed("stages", 0, "kind", "funnel"),
        "stages[0].kind",
        "must be one of awareness, consideration, decision, purchase, retention, advocacy, custom,"
        " not 'funnel'",
    ),
    (
        "bad channel",
        changed("stages", 0, "touchpoints", 0, "channel", "tiktok"),
        "stages[0].touchpoints[0].channel",
        "not 'tiktok'",
    ),
    (
        "channel label instead of slug",
        changed("stages", 0, "touchpoints", 0, "channel", "Mobile app"),
        "stages[0].touchpoints[0].channel",
        "must be one of website, search, social, email, ads, marketplace, mobile_app",
    ),
    (
        "bad pain point status",
        changed("stages", 0, "pain_points", 0, "status", "closed"),
        "stages[0].pain_points[0].status",
        "must be one of open, investigating, resolved, not 'closed'",
    ),
    (
        "bad opportunity status",
        changed("stages", 0, "opportunities", 0, "status", "in progress"),
        "stages[0].opportunities[0].status",
        "must be one of idea, planned, in_progress, done, not 'in progress'",
    ),
    (
        "bad metric",
        changed("stages", 0, "kpis", 0, "metric", "clicks"),
        "stages[0].kpis[0].metric",
        "not 'clicks'",
    ),
    (
        "bad direction",
        changed("stages", 0, "kpis", 0, "direction", "up"),
        "stages[0].kpis[0].direction",
        "must be one of higher, lower, not 'up'",
    ),
    # rules
    (
        "unknown operator",
        changed(*RULE, condition(op="like")),
        "stages[0].touchpoints[0].rule.all[0].op",
        "unknown operator 'like'",
    ),
    (
        "missing value",
        changed(*RULE, {"all": [{"field": "event", "op": "equals"}]}),
        "stages[0].touchpoints[0].rule.all[0].value",
        "is required",
    ),
    (
        "in with a non-list",
        changed(*RULE, condition(op="in", value="view")),
        "stages[0].touchpoints[0].rule.all[0].value",
        'must be a list of strings or numbers for "in"',
    ),
    (
        "bad regex",
        changed(*RULE, condition(op="regex", value="[unclosed")),
        "stages[0].touchpoints[0].rule.all[0].value",
        "is not a valid regular expression",
    ),
    (
        "two top keys",
        changed(*RULE, {"all": [], "any": []}),
        "stages[0].touchpoints[0].rule",
        'must have exactly one key, "all" or "any"',
    ),
    (
        "non-object condition",
        changed(*RULE, {"any": ["event = view"]}),
        "stages[0].touchpoints[0].rule.any[0]",
        'must be an object with "field", "op" and "value"',
    ),
    (
        "rule as text",
        changed(*RULE, "event equals view"),
        "stages[0].touchpoints[0].rule",
        'must be an object with "all" or "any", or null',
    ),
    (
        "bad persona segment",
        changed("personas", 0, "segment", {"any": [{"field": "", "op": "equals", "value": 1}]}),
        "personas[0].segment.any[0].field",
        "must be a non-empty string",
    ),
    # links by name
    (
        "pain point naming an unknown touchpoint",
        changed("stages", 0, "pain_points", 0, "touchpoint", "TikTok"),
        "stages[0].pain_points[0].touchpoint",
        "no touchpoint named 'TikTok' in this stage",
    ),
    (
        "pain point naming a touchpoint of another stage",
        changed("stages", 0, "pain_points", 0, "touchpoint", "Checkout"),
        "stages[0].pain_points[0].touchpoint",
        "no touchpoint named 'Checkout' in this stage",
    ),
    (
        "opportunity naming an unknown pain point",
        changed("stages", 0, "opportunities", 0, "pain_point", "Fast page"),
        "stages[0].opportunities[0].pain_point",
        "no pain point titled 'Fast page' in this stage",
    ),
    (
        "duplicate persona names",
        changed("personas", [{"name": "Ben"}, {"name": "Maya"}, {"name": "Ben"}]),
        "personas[2].name",
        "persona 'Ben' is listed twice",
    ),
    # lengths and slugs
    (
        "too-long map name",
        changed("name", "x" * 201),
        "name",
        "Ensure this value has at most 200 characters (it has 201).",
    ),
    (
        "too-long stage name",
        changed("stages", 1, "name", "x" * 121),
        "stages[1].name",
        "at most 120 characters",
    ),
    (
        "too-long touchpoint name",
        changed("stages", 0, "touchpoints", 0, "name", "x" * 121),
        "stages[0].touchpoints[0].name",
        "at most 120 characters",
    ),
    (
        "too-long persona name",
        changed("personas", 0, "name", "x" * 121),
        "personas[0].name",
        "at most 120 characters",
    ),
    (
        "too-long pain point title",
        changed("stages", 0, "pain_points", 0, "title", "x" * 201),
        "stages[0].pain_points[0].title",
        "at most 200 characters",
    ),
    ("bad slug", changed("slug", "Not a slug"), "slug", "Use lowercase letters, digits and single"),
    ("slug with a double hyphen", changed("slug", "a--b"), "slug", "single hyphens"),
    ("too-long slug", changed("slug", "a" * 81), "slug", "at most 80 characters (it has 81)"),
    # a problem late in the document still creates nothing before it
    ("bad last stage", changed("stages", 1, "kind", "end"), "stages[1].kind", "not 'end'"),
]


@pytest.mark.parametrize(
    ("content", "path", "message"),
    [pytest.param(content, path, message, id=what) for what, content, path, message in REFUSALS],
)
def test_a_bad_document_is_refused_with_its_path_and_nothing_is_created(
    workspace, content, path, message
):
    factories.make_persona(workspace, "Bargain hunter")
    before = counts()

    with pytest.raises(MapJSONError) as caught:
        map_import(data=parse_map_json(content), workspace=workspace)

    assert caught.value.path == path
    assert message in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"
    assert counts() == before


def _deep_call(depth: int, function: Callable[[], Any]) -> Any:
    return function() if depth == 0 else _deep_call(depth - 1, function)


def test_deep_nesting_is_refused_even_when_called_deep_in_the_stack(workspace):
    # A value nested ~900 levels deep parses; checking it must not exhaust the Python stack
    # of a request that is already some frames deep.
    document = changed("stages", 0, "description", "DEEP")
    document = document.replace('"DEEP"', "[" * 900 + "]" * 900)
    before = counts()

    with pytest.raises(MapJSONError) as caught:
        _deep_call(120, lambda: map_import(data=parse_map_json(document), workspace=workspace))

    assert caught.value.path == "stages[0].description"
    assert caught.value.message == "must be a string, not a list"
    assert counts() == before


def test_a_map_given_as_python_data_with_an_infinite_target_is_refused(workspace):
    document = json.loads(changed("name", "x"))
    document["stages"][0]["kpis"][0]["target"] = float("inf")

    with pytest.raises(MapJSONError) as caught:
        map_import(data=document, workspace=workspace)

    assert str(caught.value) == "stages[0].kpis[0].target: is too large a number"
    assert not JourneyMap.objects.exists()
