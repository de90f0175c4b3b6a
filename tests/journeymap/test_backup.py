"""`backup` / `restore`: a workspace comes back with identical figures, or nothing is written."""

import gzip
import io
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics import services as analytics_services
from analytics.models import AggregateRow, Dataset, Event, MapMetrics, SurveyResponse
from journeymap import backup
from journeymap.collab import comment_add, comment_set_resolved, share_link_create
from journeymap.history import snapshot_take
from journeymap.mapjson import map_export_text
from journeymap.models import (
    Comment,
    JourneyMap,
    MapChange,
    Membership,
    ShareLink,
    Snapshot,
    Workspace,
)
from journeymap.scoping import Role
from personas.models import Persona
from personas.services import persona_set_avatar
from stages.models import Stage, StageKPI
from tests import factories
from tests.analytics.uploads import imported
from tests.personas.images import image_bytes
from touchpoints.models import Opportunity, PainPoint, Touchpoint

pytestmark = pytest.mark.django_db

User = get_user_model()

LOG = (
    "event_time,event_type,product_id,price,user_id,user_session\n"
    "2019-10-01 00:00:00 UTC,view,1,35.79,u1,s1\n"
    "2019-10-01 00:01:00 UTC,purchase,1,35.79,u1,s1\n"
    "not a time,view,1,35.79,u2,s2\n"
    "2019-10-31 23:59:59.123456 UTC,view,2,10.00,u2,s2\n"
)

ALL_MODELS = (
    Workspace,
    Membership,
    User,
    Persona,
    JourneyMap,
    Stage,
    StageKPI,
    Touchpoint,
    PainPoint,
    Opportunity,
    Snapshot,
    Comment,
    MapChange,
    ShareLink,
    Dataset,
    Event,
    AggregateRow,
    SurveyResponse,
    MapMetrics,
)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def metrics(map_slug: str, workspace: str, *extra: str) -> dict:
    return json.loads(run("journey_metrics", map_slug, "--workspace", workspace, *extra))


def everything() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in ALL_MODELS}


def media_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def stored_bytes(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


# --- the demo workspace, with comments, snapshots, share links and an avatar -------------------


@pytest.fixture
def demo(db) -> JourneyMap:
    run("load_demo")
    journey_map = JourneyMap.objects.get(workspace__slug="demo", slug="ecommerce-journey")
    admin = Membership.objects.get(workspace__slug="demo", user__username="demo")
    ana = factories.make_user("ana", email="ana@example.com", first_name="Ana")
    ana_membership = Membership.objects.create(
        user=ana, workspace=journey_map.workspace, role=Role.EDITOR
    )
    stage = journey_map.stages.get(position=2)
    touchpoint = Touchpoint.objects.filter(stage__map=journey_map).order_by("pk").last()
    kpi = StageKPI.objects.filter(stage__map=journey_map).order_by("pk").first()
    comment_add(
        journey_map=journey_map,
        kind="stage",
        target_id=stage.pk,
        membership=admin,
        body="@ana is this stage right?",
    )
    comment_add(
        journey_map=journey_map,
        kind="touchpoint",
        target_id=touchpoint.pk,
        membership=ana_membership,
        body="Ads cost too much",
    )
    resolved = comment_add(
        journey_map=journey_map, kind="kpi", target_id=kpi.pk, membership=admin, body="Target?"
    )
    comment_set_resolved(comment=resolved, membership=admin, resolved=True)
    snapshot_take(journey_map=journey_map, user=admin.user, name="As it was", note="before")
    snapshot_take(journey_map=journey_map, user=ana, name="Where we go", kind="to_be")
    share_link_create(journey_map=journey_map, membership=admin)
    revoked = share_link_create(journey_map=journey_map, membership=admin)
    ShareLink.objects.filter(pk=revoked.pk).update(revoked_at=revoked.created_at)
    persona = journey_map.personas.order_by("name").first()
    persona_set_avatar(
        persona=persona,
        expected_version=persona.version,
        upload=ContentFile(image_bytes(), name="ben.png"),
    )
    return journey_map


def test_backup_delete_restore_gives_identical_figures_maps_rows_comments_and_snapshots(
    demo, tmp_path
):
    persona = demo.personas.order_by("name").first()
    figures = metrics("ecommerce-journey", "demo")
    persona_figures = metrics("ecommerce-journey", "demo", "--persona", persona.name)
    stored_figures = MapMetrics.objects.get(map=demo, persona=None).figures
    exported = map_export_text(demo)
    counts = everything()
    comments = [
        (c.body, c.target_kind, c.author.username, sorted(u.username for u in c.mentions.all()))
        for c in Comment.objects.order_by("pk")
    ]
    snapshots = list(
        Snapshot.objects.order_by("pk").values_list("name", "kind", "note", "data", "created_at")
    )
    changes = list(MapChange.objects.order_by("pk").values_list("action", "summary", "at"))
    links = list(ShareLink.objects.order_by("pk").values_list("token", "revoked_at"))
    avatar = stored_bytes(persona.avatar)
    originals = {d.name: stored_bytes(d.original_file) for d in Dataset.objects.all()}
    old_ids = set(Stage.objects.values_list("pk", flat=True))
    path = tmp_path / "demo.jmbackup.gz"

    summary = json.loads(run("backup", "demo", "--output", str(path)))
    Workspace.objects.get(slug="demo").delete()
    User.objects.filter(username="ana").delete()
    assert Event.objects.count() == 0
    restored = json.loads(run("restore", str(path), "--compute"))

    assert summary["counts"]["analytics.event"] == 32_473
    assert summary["bytes"] == path.stat().st_size
    assert restored["workspace"] == "demo"
    assert restored["counts"] == summary["counts"]
    assert restored["users_created"] == ["ana"]
    assert restored["figures"] == "computed"
    assert everything() == counts
    # Fresh primary keys, yet the same figures, map, comments and snapshots.
    assert not old_ids & set(Stage.objects.values_list("pk", flat=True))
    journey_map = JourneyMap.objects.get(workspace__slug="demo", slug="ecommerce-journey")
    assert metrics("ecommerce-journey", "demo") == figures
    assert metrics("ecommerce-journey", "demo", "--persona", persona.name) == persona_figures
    assert MapMetrics.objects.get(map=journey_map, persona=None).figures == stored_figures
    assert map_export_text(journey_map) == exported
    assert [
        (c.body, c.target_kind, c.author.username, sorted(u.username for u in c.mentions.all()))
        for c in Comment.objects.order_by("pk")
    ] == comments
    assert Comment.objects.filter(resolved_at__isnull=False).get().resolved_by.username == "demo"
    assert (
        list(
            Snapshot.objects.order_by("pk").values_list(
                "name", "kind", "note", "data", "created_at"
            )
        )
        == snapshots
    )
    assert list(MapChange.objects.order_by("pk").values_list("action", "summary", "at")) == changes
    assert list(ShareLink.objects.order_by("pk").values_list("token", "revoked_at")) == links
    restored_persona = Persona.objects.get(name=persona.name)
    assert stored_bytes(restored_persona.avatar) == avatar
    assert {d.name: stored_bytes(d.original_file) for d in Dataset.objects.all()} == originals
    assert not User.objects.get(username="ana").has_usable_password()
    assert User.objects.get(username="ana").email == "ana@example.com"


def comment_targets() -> dict[str, tuple[str, str, int]]:
    """Each comment's body → the kind, name and map of the card it is pinned to."""
    targets = {}
    for comment in Comment.objects.all():
        card = backup.COMMENT_TARGETS[comment.target_kind]._default_manager.get(
            pk=comment.target_id
        )
        map_id = card.map_id if comment.target_kind == "stage" else card.stage.map_id
        assert map_id == comment.map_id
        targets[comment.body] = (comment.target_kind, str(card), map_id)
    return targets


def test_comment_targets_follow_their_cards_to_the_new_primary_keys(demo, tmp_path):
    before = comment_targets()
    path = tmp_path / "demo.gz"
    run("backup", "demo", "-o", str(path))
    Workspace.objects.get(slug="demo").delete()

    run("restore", str(path))

    new_map = JourneyMap.objects.get(workspace__slug="demo").pk
    assert new_map != demo.pk
    assert comment_targets() == {
        body: (kind, name, new_map) for body, (kind, name, _) in before.items()
    }


# --- a small workspace, for the refusals --------------------------------------------------------


@pytest.fixture
def board(workspace, ws_admin) -> JourneyMap:
    journey_map = factories.make_map(workspace, "Checkout journey", slug="checkout-journey")
    stage = factories.make_stage(journey_map, "Purchase", kind="purchase")
    factories.make_touchpoint(
        stage, "Checkout", rule={"all": [{"field": "event", "op": "equals", "value": "purchase"}]}
    )
    dataset = imported(workspace, LOG, name="2019-Oct.csv")
    analytics_services.dataset_attach(dataset=dataset, journey_map=journey_map)
    membership = Membership.objects.get(user=ws_admin)
    comment_add(
        journey_map=journey_map, kind="stage", target_id=stage.pk, membership=membership, body="Hi"
    )
    snapshot_take(journey_map=journey_map, user=ws_admin, name="First")
    share_link_create(journey_map=journey_map, membership=membership)
    return journey_map


@pytest.fixture
def board_backup(board, tmp_path) -> Path:
    path = tmp_path / "acme.jmbackup.gz"
    run("backup", "acme", "--output", str(path))
    return path


def restore_error(path: Path, *args: str) -> str:
    with pytest.raises(CommandError) as refused:
        run("restore", str(path), *args)
    return str(refused.value)


EVENT_FIELDS = [f.attname for f in backup._row_columns(Event)]


def test_rows_the_error_report_and_microseconds_survive(board, board_backup):
    dataset = Dataset.objects.get()
    report = stored_bytes(dataset.error_report)
    last = dataset.last_timestamp
    rows = list(Event.objects.order_by("pk").values_list(*EVENT_FIELDS))
    Workspace.objects.get(slug="acme").delete()

    run("restore", str(board_backup))

    dataset = Dataset.objects.get()
    assert list(Event.objects.order_by("pk").values_list(*EVENT_FIELDS)) == rows
    assert rows[0][EVENT_FIELDS.index("extra")]  # the file's other columns, kept as JSON
    assert stored_bytes(dataset.error_report) == report
    assert dataset.last_timestamp == last
    assert last.microsecond == 123456
    assert Event.objects.order_by("timestamp").last().timestamp == last


def test_a_workspace_slug_that_exists_is_refused_and_nothing_is_written(board_backup, settings):
    before, files = everything(), media_files(settings)

    error = restore_error(board_backup)

    assert "a workspace 'acme' already exists" in error
    assert "Nothing was restored." in error
    assert everything() == before
    assert media_files(settings) == files


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_a_truncated_file_is_refused_and_nothing_is_written(board_backup, settings, keep):
    data = board_backup.read_bytes()
    board_backup.write_bytes(data[: int(len(data) * keep)])
    Workspace.objects.get(slug="acme").delete()
    before, files = everything(), media_files(settings)

    error = restore_error(board_backup)

    assert "truncated" in error
    assert everything() == before
    assert media_files(settings) == files


def test_a_corrupt_byte_is_refused_and_nothing_is_written(board_backup, settings):
    data = bytearray(board_backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    board_backup.write_bytes(bytes(data))
    Workspace.objects.get(slug="acme").delete()
    before, files = everything(), media_files(settings)

    error = restore_error(board_backup)

    assert "Nothing was restored." in error
    assert "corrupt" in error or "CRC" in error or "not valid JSON" in error
    assert everything() == before
    assert media_files(settings) == files


def rewrite(path: Path, change) -> None:
    """Decompress the backup, change its list of records, compress it again (valid gzip)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in change(records):
            handle.write(json.dumps(record) + "\n")


def test_a_lost_chunk_of_rows_is_refused_by_the_end_record(board_backup):
    rewrite(board_backup, lambda records: [r for r in records if r.get("t") != "rows"])
    Workspace.objects.get(slug="acme").delete()
    before = everything()

    error = restore_error(board_backup)

    assert "other counts than its end record says" in error
    assert everything() == before


def test_a_file_of_another_version_or_format_is_refused(board_backup, tmp_path):
    Workspace.objects.get(slug="acme").delete()
    before = everything()
    rewrite(board_backup, lambda records: [{**records[0], "version": 99}, *records[1:]])
    assert "backup format version 99 is not supported" in restore_error(board_backup)
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    assert "not a gzip file" in restore_error(plain)
    other = tmp_path / "other.gz"
    other.write_bytes(gzip.compress(b'{"schema": "journeymap/v1"}\n'))
    assert "not a Journeymap backup" in restore_error(other)
    assert everything() == before


def test_restore_beside_the_original_reissues_its_share_link_tokens(board, board_backup):
    token = ShareLink.objects.get().token

    restored = json.loads(run("restore", str(board_backup), "--slug", "acme-copy"))

    copy = ShareLink.objects.get(map__workspace__slug="acme-copy")
    assert restored["share_links_revoked"] == 1
    assert copy.token != token
    assert copy.revoked_at is not None
    assert ShareLink.objects.get(map=board).revoked_at is None
    assert run("export_map", "checkout-journey", "--workspace", "acme-copy") == run(
        "export_map", "checkout-journey", "--workspace", "acme"
    )
    assert metrics("checkout-journey", "acme-copy") == metrics("checkout-journey", "acme")


def test_revoke_share_links_revokes_every_restored_link(board_backup):
    Workspace.objects.get(slug="acme").delete()

    restored = json.loads(run("restore", str(board_backup), "--revoke-share-links"))

    assert restored["share_links_revoked"] == 1
    assert ShareLink.objects.get().revoked_at is not None


def test_rows_are_written_and_read_in_chunks(board, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "ROWS_PER_RECORD", 2)
    path = tmp_path / "chunked.gz"
    figures = metrics("checkout-journey", "acme")
    run("backup", "acme", "-o", str(path))
    with gzip.open(path, "rt") as handle:
        chunks = [json.loads(line) for line in handle if '"t":"rows"' in line]
    Workspace.objects.get(slug="acme").delete()

    run("restore", str(path))

    assert [len(chunk["rows"]) for chunk in chunks] == [2, 1]
    assert Event.objects.count() == 3
    assert metrics("checkout-journey", "acme") == figures


def test_backup_of_an_unknown_workspace_says_how_to_create_it(db, tmp_path):
    with pytest.raises(CommandError, match="No workspace 'nope'"):
        run("backup", "nope", "--output", str(tmp_path / "x.gz"))
    assert not (tmp_path / "x.gz").exists()


def test_restore_under_a_slug_that_is_not_one_is_refused(board_backup):
    before = everything()

    error = restore_error(board_backup, "--slug", "Not A Slug")

    assert "--slug 'Not A Slug': Use lowercase letters, digits and single hyphens" in error
    assert everything() == before
