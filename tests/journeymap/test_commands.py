"""The management commands of DESIGN §8, run as an admin or a script would run them."""

import io
import json
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.test import Client

from analytics.models import Dataset, Event
from journeymap.mapjson import map_export, map_export_text
from journeymap.models import JourneyMap, MapChange, Membership, Workspace
from journeymap.scoping import Role
from journeymap.services import DEMO_MAP_FILE
from personas.models import Persona
from stages.models import Stage, StageKPI
from tests import factories
from touchpoints.models import Opportunity, PainPoint, Touchpoint
from touchpoints.rules import CANONICAL_FIELDS

User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hashing with the production hasher takes most of a second per password; these tests only
    # need passwords to work, so hash them cheaply (autouse: before the user fixtures run).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args: str) -> str:
    """Run a command like `manage.py ...` would, and return what it printed on stdout."""
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (
        Workspace,
        Membership,
        User,
        JourneyMap,
        Stage,
        StageKPI,
        Touchpoint,
        PainPoint,
        Opportunity,
        Persona,
        MapChange,
    )
    return {model.__name__: model.objects.count() for model in models}


def role_of(username: str, workspace_slug: str) -> str:
    return Membership.objects.get(user__username=username, workspace__slug=workspace_slug).role


# --- create_workspace -------------------------------------------------------------------------


def test_create_workspace_creates_it_with_its_name(db):
    output = run("create_workspace", "growth-team", "--name", "Growth team")

    workspace = Workspace.objects.get(slug="growth-team")
    assert workspace.name == "Growth team"
    assert output.startswith("Created workspace growth-team (Growth team).\n")
    assert "add_member growth-team USERNAME --role admin" in output


def test_create_workspace_names_it_after_the_slug_by_default(db):
    run("create_workspace", "growth-team")

    assert Workspace.objects.get(slug="growth-team").name == "Growth Team"


def test_create_workspace_twice_is_a_no_op_that_says_so(db):
    run("create_workspace", "growth-team", "--name", "Growth team")

    output = run("create_workspace", "growth-team", "--name", "Another name")

    assert output == "Workspace growth-team (Growth team) already exists; nothing changed.\n"
    assert Workspace.objects.get().name == "Growth team"


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Growth Team", "slug: Use lowercase letters, digits and single hyphens (e.g. my-team)."),
        ("growth--team", "single hyphens"),
        ("growth-", "single hyphens"),
        ("growth_team", "single hyphens"),
        ("g" * 61, "slug: Ensure this value has at most 60 characters (it has 61)."),
    ],
)
def test_create_workspace_refuses_a_bad_slug_clearly(db, slug, message):
    with pytest.raises(CommandError) as caught:
        run("create_workspace", slug)

    assert str(caught.value).startswith(f"Cannot create workspace {slug!r}: ")
    assert message in str(caught.value)
    assert not Workspace.objects.exists()


def test_create_workspace_refuses_a_too_long_name(db):
    with pytest.raises(CommandError, match="name: Ensure this value has at most 120 characters"):
        run("create_workspace", "growth", "--name", "x" * 121)


# --- add_member -------------------------------------------------------------------------------


def test_add_member_creates_the_user_with_a_password_that_logs_in(workspace):
    output = run("add_member", "acme", "bob", "--role", "editor", "--password", "s3cret-pass")

    assert output == "Created user bob (with the given password).\nbob is now editor of acme.\n"
    assert role_of("bob", "acme") == Role.EDITOR
    assert Client().login(username="bob", password="s3cret-pass")


def test_add_member_without_a_password_creates_a_user_who_cannot_log_in_yet(workspace):
    output = run("add_member", "acme", "bob", "--role", "viewer")

    assert "Created user bob (without a usable password)." in output
    assert not User.objects.get(username="bob").has_usable_password()
    assert role_of("bob", "acme") == Role.VIEWER


def test_add_member_gives_an_existing_user_a_role_and_leaves_their_password(
    ws_viewer, other_workspace
):
    output = run("add_member", "rival", "vera", "--role", "admin", "--password", "other")

    assert "User vera already exists; their password was not changed." in output
    assert Client().login(username="vera", password=factories.PASSWORD)
    assert not Client().login(username="vera", password="other")


def test_add_member_changes_a_role(ws_admin, ws_editor):
    output = run("add_member", "acme", "eddie", "--role", "viewer")

    assert output == "eddie is now viewer of acme (was editor).\n"
    assert role_of("eddie", "acme") == Role.VIEWER


def test_add_member_with_the_same_role_changes_nothing(ws_editor):
    output = run("add_member", "acme", "eddie", "--role", "editor")

    assert output == "eddie was already editor of acme; no change.\n"


def test_add_member_refuses_to_demote_the_last_admin(ws_admin, ws_editor):
    with pytest.raises(CommandError) as caught:
        run("add_member", "acme", "alice", "--role", "editor")

    assert str(caught.value) == (
        "Cannot make alice editor of acme: "
        "A workspace needs at least one admin: this is the last one."
    )
    assert role_of("alice", "acme") == Role.ADMIN


def test_add_member_demotes_an_admin_when_another_remains(ws_admin, ws_editor):
    run("add_member", "acme", "eddie", "--role", "admin")

    run("add_member", "acme", "alice", "--role", "viewer")

    assert role_of("alice", "acme") == Role.VIEWER
    assert role_of("eddie", "acme") == Role.ADMIN


def test_the_only_admin_of_another_workspace_does_not_count(ws_admin, outsider, other_workspace):
    run("add_member", "rival", "alice", "--role", "admin")  # alice: admin of acme and rival

    with pytest.raises(CommandError, match="at least one admin"):
        run("add_member", "acme", "alice", "--role", "viewer")


def test_add_member_to_an_unknown_workspace_is_refused_and_creates_no_user(db):
    with pytest.raises(CommandError) as caught:
        run("add_member", "nowhere", "bob", "--role", "admin", "--password", "pw")

    assert str(caught.value) == (
        "No workspace 'nowhere'. Create it first: manage.py create_workspace nowhere"
    )
    assert not User.objects.filter(username="bob").exists()


def test_add_member_refuses_an_unknown_role(workspace):
    with pytest.raises(CommandError, match="argument --role: invalid choice: 'owner'"):
        run("add_member", "acme", "bob", "--role", "owner")

    assert not User.objects.filter(username="bob").exists()


def test_add_member_refuses_an_invalid_username(workspace):
    with pytest.raises(CommandError, match="username: Enter a valid username"):
        run("add_member", "acme", "bob smith!", "--role", "viewer", "--password", "pw")

    assert not User.objects.exists()


# --- export_map and import_map ----------------------------------------------------------------


@pytest.fixture
def journey_map(workspace):
    """A small but complete map, built through the JSON contract like the demo."""
    document = json.loads(DEMO_MAP_FILE.read_text())
    document["name"], document["slug"] = "Checkout journey", "checkout-journey"
    run_import_data(document, workspace.slug)
    return JourneyMap.objects.get(workspace=workspace, slug="checkout-journey")


def run_import_data(document: dict, workspace_slug: str) -> str:
    out = io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(json.dumps(document).encode()))
    try:
        call_command("import_map", "-", "--workspace", workspace_slug, stdout=out)
    finally:
        sys.stdin = stdin
    return out.getvalue()


def test_export_map_prints_the_map_json(journey_map):
    output = run("export_map", "checkout-journey", "--workspace", "acme")

    assert output == map_export_text(journey_map)
    assert json.loads(output)["name"] == "Checkout journey"


def test_export_map_writes_a_file_with_o(journey_map, tmp_path):
    target = tmp_path / "map.json"

    output = run("export_map", "checkout-journey", "--workspace", "acme", "-o", str(target))

    assert output == f"Wrote checkout-journey to {target}.\n"
    assert json.loads(target.read_text(encoding="utf-8")) == map_export(journey_map)


def test_export_map_of_an_unknown_map_lists_the_maps(journey_map):
    with pytest.raises(CommandError) as caught:
        run("export_map", "checkout", "--workspace", "acme")

    assert (
        str(caught.value) == "No map 'checkout' in workspace 'acme' (its maps: checkout-journey)."
    )


def test_export_map_does_not_find_a_map_of_another_workspace(journey_map, other_workspace):
    with pytest.raises(CommandError, match="No map 'checkout-journey' in workspace 'rival'"):
        run("export_map", "checkout-journey", "--workspace", "rival")


def test_export_map_to_a_directory_that_does_not_exist_fails_clearly(journey_map, tmp_path):
    target = tmp_path / "missing" / "map.json"

    with pytest.raises(CommandError, match=f"Cannot write {target}: No such file or directory"):
        run("export_map", "checkout-journey", "--workspace", "acme", "-o", str(target))


def test_export_then_import_into_another_workspace_gives_identical_json(
    journey_map, other_workspace, tmp_path
):
    exported = tmp_path / "map.json"
    run("export_map", "checkout-journey", "--workspace", "acme", "-o", str(exported))

    slug = run("import_map", str(exported), "--workspace", "rival").strip()

    again = run("export_map", slug, "--workspace", "rival")
    assert again == exported.read_text(encoding="utf-8")
    assert slug == "checkout-journey"


def test_import_map_prints_only_the_new_slug(journey_map, tmp_path):
    exported = tmp_path / "map.json"
    exported.write_text(map_export_text(journey_map), encoding="utf-8")

    outputs = [run("import_map", str(exported), "--workspace", "acme") for _ in range(2)]

    assert outputs == ["checkout-journey-2\n", "checkout-journey-3\n"]


def test_import_map_reads_standard_input_with_a_dash(workspace):
    output = run_import_data(
        {"schema": "journeymap/v1", "name": "From a pipe", "stages": [{"name": "Awareness"}]},
        "acme",
    )

    assert output == "from-a-pipe\n"
    assert JourneyMap.objects.get(slug="from-a-pipe").stages.get().name == "Awareness"


def test_import_map_of_a_bad_file_names_the_json_path_and_creates_nothing(workspace, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "schema": "journeymap/v1",
                "name": "Bad",
                "stages": [{"name": "Awareness"}, {"name": "Purchase", "emotion": "-1"}],
            }
        )
    )
    before = counts()

    with pytest.raises(CommandError) as caught:
        run("import_map", str(bad), "--workspace", "acme")

    assert str(caught.value) == f"{bad}: stages[1].emotion: must be a whole number, not a string"
    assert counts() == before


def test_import_map_of_text_that_is_not_json_says_where(workspace, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "journeymap/v1",\n "name": }')

    with pytest.raises(CommandError) as caught:
        run("import_map", str(bad), "--workspace", "acme")

    assert str(caught.value) == (f"{bad}: $: not valid JSON: Expecting value at line 2, column 10")
    assert not JourneyMap.objects.exists()


def test_import_map_of_a_missing_file_fails_clearly(workspace, tmp_path):
    missing = tmp_path / "nope.json"

    with pytest.raises(CommandError, match=f"Cannot read {missing}: No such file or directory"):
        run("import_map", str(missing), "--workspace", "acme")


def test_import_map_into_an_unknown_workspace_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="No workspace 'nowhere'"):
        run("import_map", str(tmp_path / "any.json"), "--workspace", "nowhere")


def test_a_failing_import_exits_non_zero_with_the_message_on_stderr(workspace, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "journeymap/v1", "name": "Bad", "stages": [{"name": 7}]}')

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "import_map", str(bad), "--workspace", "acme"]).execute()

    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"CommandError: {bad}: stages[0].name: must be a string, not a number\n"
    )


# --- load_demo --------------------------------------------------------------------------------


@pytest.fixture
def demo_output(db) -> str:
    return run("load_demo")


@pytest.fixture
def demo_map(demo_output) -> JourneyMap:
    return JourneyMap.objects.get(workspace__slug="demo", slug="ecommerce-journey")


def test_load_demo_creates_everything_and_says_how_to_log_in(demo_output, demo_map):
    lines = demo_output.splitlines()

    assert lines[0] == (
        "Created workspace demo, user demo, map ecommerce-journey, "
        "dataset Demo shop events (32,473 rows), dataset Demo shop NPS survey (400 rows), "
        "snapshot As-is, snapshot Checkout fix shipped."
    )
    assert "map “E-commerce journey” with 5 stages and 3 personas" in lines[1]
    assert "/w/demo/maps/ecommerce-journey/" in demo_output
    assert lines[-1] == "Log in as demo / demo"
    assert Workspace.objects.get(slug="demo").name == "Demo shop"


def test_load_demo_attaches_the_demo_datasets_to_the_map(demo_map):
    datasets = {dataset.name: dataset for dataset in demo_map.datasets.all()}

    assert set(datasets) == {"Demo shop events", "Demo shop NPS survey"}
    events = datasets["Demo shop events"]
    assert events.status == "ready"
    assert events.row_count == events.events.count() == 32_473
    assert events.rejected_count == 0
    assert datasets["Demo shop NPS survey"].responses.count() == 400


def test_load_demo_twice_imports_the_demo_datasets_once(demo_map):
    run("load_demo")

    assert Dataset.objects.filter(workspace__slug="demo").count() == 2
    assert Event.objects.filter(dataset__workspace__slug="demo").count() == 32_473


def test_after_load_demo_demo_demo_logs_in_as_admin_of_the_demo(demo_map):
    assert Client().login(username="demo", password="demo")
    assert role_of("demo", "demo") == Role.ADMIN


def test_load_demo_twice_changes_nothing(demo_map):
    before = counts()
    exported = run("export_map", "ecommerce-journey", "--workspace", "demo")

    output = run("load_demo")

    assert output.startswith("The demo was already loaded; nothing changed.\n")
    assert output.splitlines()[-1] == "Log in as demo / demo"
    assert counts() == before
    assert run("export_map", "ecommerce-journey", "--workspace", "demo") == exported
    assert list(JourneyMap.objects.values_list("slug", flat=True)) == ["ecommerce-journey"]


def test_load_demo_makes_its_printed_login_work_again(demo_map):
    demo = User.objects.get(username="demo")
    demo.set_password("changed")
    demo.save()

    run("load_demo")

    assert Client().login(username="demo", password="demo")


def test_load_demo_recreates_a_deleted_demo_map_without_duplicating_personas(demo_map):
    demo_map.delete()

    output = run("load_demo")

    assert output.startswith(
        "Created map ecommerce-journey, snapshot As-is, snapshot Checkout fix shipped.\n"
    )
    assert JourneyMap.objects.get().slug == "ecommerce-journey"
    assert Persona.objects.count() == 3


def test_the_demo_map_is_the_stored_journeymap_v1_file(demo_map):
    assert map_export_text(demo_map) == DEMO_MAP_FILE.read_text(encoding="utf-8")


def test_the_demo_map_has_five_stages_in_order_with_a_realistic_emotion_curve(demo_map):
    stages = list(demo_map.stages.order_by("position"))

    assert [(s.position, s.name, s.kind) for s in stages] == [
        (1, "Awareness", "awareness"),
        (2, "Consideration", "consideration"),
        (3, "Purchase", "purchase"),
        (4, "Retention", "retention"),
        (5, "Advocacy", "advocacy"),
    ]
    emotions = [stage.emotion for stage in stages]
    assert len(set(emotions)) >= 3
    assert min(emotions) < 0 < max(emotions)
    for stage in stages:
        for text in (stage.description, stage.customer_goal, stage.actions, stage.thoughts):
            assert text, stage.name
        assert stage.feelings, stage.name
    assert demo_map.status == "published"


def test_every_demo_stage_is_measured_and_has_kpis_with_targets(demo_map):
    for stage in demo_map.stages.all():
        touchpoints = list(stage.touchpoints.all())
        assert 2 <= len(touchpoints) <= 4, stage.name
        assert any(tp.rule for tp in touchpoints), stage.name
        assert all(tp.owner and tp.channel != "other" for tp in touchpoints), stage.name
        assert stage.kpis.exclude(target=None).exists(), stage.name


def test_the_demo_pain_points_and_opportunities_are_linked_and_scored(demo_map):
    for stage in demo_map.stages.all():
        pain_points = list(stage.pain_points.all())
        assert pain_points, stage.name
        for pain_point in pain_points:
            assert pain_point.touchpoint.stage == stage
            assert pain_point.evidence and 1 <= pain_point.severity <= 5
        opportunities = list(stage.opportunities.all())
        assert any(op.pain_point and op.pain_point.stage == stage for op in opportunities)
    severities = set(PainPoint.objects.values_list("severity", flat=True))
    statuses = set(Opportunity.objects.values_list("status", flat=True))
    assert len(severities) >= 3 and len(statuses) >= 3


def rule_conditions(rule: dict | None) -> list[dict]:
    return next(iter(rule.values())) if rule else []


def test_the_demo_rules_use_canonical_fields_and_the_event_names_of_real_exports(demo_map):
    rules = [tp.rule for tp in Touchpoint.objects.filter(stage__map=demo_map)]
    conditions = [condition for rule in rules for condition in rule_conditions(rule)]
    event_names = set()
    for condition in conditions:
        if condition["field"] == "event":
            value = condition["value"]
            event_names.update(value if isinstance(value, list) else [value])

    assert {c["field"] for c in conditions} <= set(CANONICAL_FIELDS)
    public_ecommerce_log = {"view", "cart", "remove_from_cart", "purchase"}
    ga4 = {"page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"}
    assert public_ecommerce_log | ga4 | {"review", "share", "referral"} <= event_names
    purchase = demo_map.stages.get(name="Purchase")
    assert {"field": "event", "op": "equals", "value": "purchase"} in [
        c for tp in purchase.touchpoints.all() for c in rule_conditions(tp.rule)
    ]


def test_the_demo_personas_are_complete_with_segment_rules(demo_map):
    personas = list(demo_map.personas.all())

    assert len(personas) == 3
    for persona in personas:
        for text in (persona.summary, persona.goals, persona.needs, persona.pain_points):
            assert text, persona.name
        assert persona.motivations and persona.quote and persona.channels, persona.name
        fields = {c["field"] for c in rule_conditions(persona.segment)}
        assert fields and fields <= set(CANONICAL_FIELDS), persona.name
    segments = {json.dumps(p.segment, sort_keys=True) for p in personas}
    assert '"device"' in "".join(segments) and '"revenue"' in "".join(segments)
