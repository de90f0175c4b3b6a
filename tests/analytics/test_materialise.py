"""Stored figures: the recompute task, what asks for it, and that a stale run never wins."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from analytics import materialise, services
from analytics.engine import compute_metrics
from analytics.materialise import iso_weeks, metrics_recompute
from analytics.models import MapMetrics, MapMetricsState, MetricsStatus
from analytics.tasks import recompute_map_metrics
from journeymap import history
from journeymap.editor import CARD_KINDS, card_update
from personas.services import persona_update
from stages.services import stage_move
from tests import factories
from tests.analytics.figures_data import T0, equals, events_dataset, make_shop, shop_events
from touchpoints.models import Touchpoint


@pytest.fixture
def shop(workspace):
    return make_shop(workspace)


def stored(journey_map, persona=None) -> MapMetrics:
    return MapMetrics.objects.get(map=journey_map, persona=persona)


def state(journey_map) -> MapMetricsState:
    return MapMetricsState.objects.get(map=journey_map)


def test_the_task_stores_the_figures_that_compute_metrics_gives(shop) -> None:
    result = recompute_map_metrics.enqueue(shop.journey_map.pk)

    assert result.return_value["status"] == "ready"
    everyone = stored(shop.journey_map)
    assert everyone.figures == compute_metrics(journey_map=shop.journey_map)
    assert everyone.figures["totals"]["users"] == 40
    assert everyone.stage_ids == [
        s.pk for s in (shop.visit, shop.cart, shop.purchase, shop.advocacy)
    ]
    mobile = stored(shop.journey_map, shop.mobile)
    assert mobile.figures == compute_metrics(journey_map=shop.journey_map, persona=shop.mobile)
    assert mobile.figures["totals"]["users"] == 20
    # A persona without a segment keeps every user (§7): the same figures under its name.
    anyone = stored(shop.journey_map, shop.everyone)
    assert anyone.figures == compute_metrics(journey_map=shop.journey_map, persona=shop.everyone)
    assert state(shop.journey_map).status == MetricsStatus.READY


def test_the_previous_period_and_the_weeks_are_the_engine_figures_of_those_ranges(shop) -> None:
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    row = stored(shop.journey_map, shop.mobile)
    window = timedelta(days=materialise.COMPARISON_DAYS)

    assert row.start == T0
    assert row.end == T0 + timedelta(days=78, microseconds=1)  # the last visitor only looks
    assert row.recent == compute_metrics(
        journey_map=shop.journey_map, start=row.end - window, end=row.end, persona=shop.mobile
    )
    assert row.previous == compute_metrics(
        journey_map=shop.journey_map,
        start=row.end - 2 * window,
        end=row.end - window,
        persona=shop.mobile,
    )
    assert row.recent["totals"]["users"] == 8 and row.previous["totals"]["users"] == 8
    # Twelve ISO weeks (Monday 1 January to Tuesday 19 March), each the engine over that week.
    assert [week["week"] for week in row.weekly] == [f"2024-W{n:02d}" for n in range(1, 13)]
    third = row.weekly[2]
    figures = compute_metrics(
        journey_map=shop.journey_map,
        start=T0.replace(hour=0) + timedelta(days=14),
        end=T0.replace(hour=0) + timedelta(days=21),
        persona=shop.mobile,
    )
    assert third["totals"] == figures["totals"] and third["stages"] == figures["stages"]


def test_iso_weeks_cut_the_range_at_mondays() -> None:
    weeks = iso_weeks(T0 + timedelta(days=2), T0 + timedelta(days=9))

    assert weeks == [
        (T0 + timedelta(days=2), T0.replace(hour=0) + timedelta(days=7)),
        (T0.replace(hour=0) + timedelta(days=7), T0 + timedelta(days=9)),
    ]


def test_running_the_task_again_changes_nothing(shop) -> None:
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    first = {row.pk: (row.computed_at, row.figures) for row in MapMetrics.objects.all()}

    again = recompute_map_metrics.enqueue(shop.journey_map.pk)

    assert again.return_value["status"] == "up to date"
    assert {row.pk: (row.computed_at, row.figures) for row in MapMetrics.objects.all()} == first
    assert MapMetrics.objects.filter(map=shop.journey_map).count() == 3


def test_a_map_without_datasets_stores_empty_figures(workspace) -> None:
    shop = make_shop(workspace, with_data=False)

    recompute_map_metrics.enqueue(shop.journey_map.pk)

    row = stored(shop.journey_map)
    assert row.figures["totals"]["users"] == 0 and row.start is None
    assert row.recent is None and row.previous is None and row.weekly == []


def test_a_rule_change_in_the_editor_recomputes_the_figures(
    shop, ws_editor_client, django_capture_on_commit_callbacks
) -> None:
    recompute_map_metrics.enqueue(shop.journey_map.pk)
    assert stored(shop.journey_map).figures["stages"][1]["users"] == 26
    basket = Touchpoint.objects.get(stage=shop.cart)
    url = reverse("card_edit", args=[shop.journey_map.workspace.slug, "touchpoint", basket.pk])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ws_editor_client.post(
            url,
            {
                "name": "Basket",
                "channel": "website",
                "emotion": "0",
                "rule": json.dumps(
                    {"all": [{"field": "event", "op": "in", "value": ["add_to_cart", "purchase"]}]}
                ),
                "expected_version": basket.version,
            },
        )

    assert response.status_code == 302
    assert len(callbacks) == 1  # one recompute enqueued after the commit
    figures = stored(shop.journey_map).figures
    assert figures == compute_metrics(journey_map=shop.journey_map)
    assert figures["stages"][1]["users"] == 30  # 26 who added to the cart, 4 more who only bought
    assert state(shop.journey_map).status == MetricsStatus.READY


def test_edits_that_cannot_move_the_figures_do_not_ask_for_a_recompute(
    shop, ws_editor, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        card_update(
            kind=CARD_KINDS["kpi"],
            card=shop.users_kpi,
            user=ws_editor,
            expected_version=shop.users_kpi.version,
            fields=["target"],
        )

    assert callbacks == []
    assert not MapMetricsState.objects.filter(map=shop.journey_map).exists()


@pytest.mark.parametrize(
    "change",
    ["stage_move", "persona_segment", "dataset_attach", "dataset_detach", "snapshot_restore"],
)
def test_each_change_that_moves_the_figures_asks_for_one(
    change, shop, ws_editor, django_capture_on_commit_callbacks
) -> None:
    journey_map = shop.journey_map
    snapshot = history.snapshot_take(journey_map=journey_map, user=ws_editor, name="Before")
    MapMetricsState.objects.filter(map=journey_map).delete()
    other = events_dataset(journey_map.workspace, [], name="More events")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        if change == "stage_move":
            stage_move(stage=shop.purchase, user=ws_editor, position=1)
        elif change == "persona_segment":
            persona_update(
                persona=shop.mobile,
                expected_version=shop.mobile.version,
                changes={"segment": equals("device", "desktop")},
            )
        elif change == "dataset_attach":
            services.dataset_attach(dataset=other, journey_map=journey_map)
        elif change == "dataset_detach":
            services.dataset_detach(dataset=journey_map.datasets.get(), journey_map=journey_map)
        else:
            history.snapshot_restore(snapshot=snapshot, user=ws_editor)

    assert callbacks, "no recompute enqueued"
    assert state(journey_map).requested_generation >= 1
    assert state(journey_map).status == MetricsStatus.COMPUTING


def test_a_finished_import_recomputes_the_maps_the_dataset_feeds(
    shop, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    dataset = events_dataset(shop.journey_map.workspace, [], name="Uploaded")
    dataset.status = "importing"
    dataset.save()
    shop.journey_map.datasets.add(dataset)

    def imported(dataset):
        dataset.status = "ready"
        dataset.save()
        return dataset

    monkeypatch.setattr(services.pipeline, "run", imported)
    with django_capture_on_commit_callbacks(execute=True):
        services.dataset_import(dataset_id=dataset.pk)

    assert stored(shop.journey_map).figures == compute_metrics(journey_map=shop.journey_map)


def test_a_slow_old_run_does_not_overwrite_a_newer_result(shop, monkeypatch) -> None:
    """Run 1 computes with the old rule; meanwhile the rule changes and run 2 stores its figures;
    run 1 then finishes and must not store its older figures over them."""
    journey_map = shop.journey_map
    MapMetricsState.objects.create(map=journey_map, requested_generation=2)
    compute = materialise.compute_map_figures
    basket = Touchpoint.objects.get(stage=shop.cart)

    def slow_old_run(map_to_compute):
        old_figures = compute(map_to_compute)  # computed with the rule of generation 2
        basket.rule = equals("event", "purchase")
        basket.save()
        MapMetricsState.objects.filter(map=journey_map).update(requested_generation=3)
        monkeypatch.setattr(materialise, "compute_map_figures", compute)
        assert metrics_recompute(map_id=journey_map.pk)["status"] == "ready"  # run 3, quick
        return old_figures

    monkeypatch.setattr(materialise, "compute_map_figures", slow_old_run)
    outcome = metrics_recompute(map_id=journey_map.pk)

    assert outcome == {"map": journey_map.pk, "status": "superseded", "generation": 2}
    row = stored(journey_map)
    assert row.generation == 3
    assert row.figures["stages"][1]["users"] == 10  # the new rule: the buyers
    assert state(journey_map).computed_generation == 3
    assert state(journey_map).status == MetricsStatus.READY


def test_an_older_run_that_finishes_first_is_stored_but_stays_recomputing(shop) -> None:
    journey_map = shop.journey_map
    MapMetricsState.objects.create(map=journey_map, requested_generation=1)

    def newer_request(map_to_compute):
        MapMetricsState.objects.filter(map=journey_map).update(requested_generation=2)
        return compute(map_to_compute)

    compute = materialise.compute_map_figures
    materialise.compute_map_figures = newer_request
    try:
        assert metrics_recompute(map_id=journey_map.pk)["status"] == "ready"
    finally:
        materialise.compute_map_figures = compute

    assert stored(journey_map).generation == 1
    assert state(journey_map).pending  # generation 2 is still to come


def test_a_failed_computation_is_recorded_with_its_reason(shop) -> None:
    Touchpoint.objects.filter(stage=shop.cart).update(rule={"all": [{"field": "event"}]})

    result = recompute_map_metrics.enqueue(shop.journey_map.pk)

    assert result.return_value["status"] == "failed"
    failed = state(shop.journey_map)
    assert failed.status == MetricsStatus.FAILED and not failed.pending
    assert "touchpoint 'Basket'" in failed.error and "op" in failed.error


def test_a_persona_taken_off_the_map_loses_its_figures(shop, ws_editor) -> None:
    from journeymap.services import map_persona_remove

    recompute_map_metrics.enqueue(shop.journey_map.pk)
    assert MapMetrics.objects.filter(map=shop.journey_map, persona=shop.mobile).exists()

    map_persona_remove(journey_map=shop.journey_map, persona=shop.mobile, user=ws_editor)
    recompute_map_metrics.enqueue(shop.journey_map.pk)

    assert not MapMetrics.objects.filter(map=shop.journey_map, persona=shop.mobile).exists()
    assert MapMetrics.objects.filter(map=shop.journey_map).count() == 2


def test_a_deleted_map_is_a_no_op(workspace) -> None:
    journey_map = factories.make_map(workspace, "Gone")
    map_id = journey_map.pk
    journey_map.delete()

    assert recompute_map_metrics.enqueue(map_id).return_value == {
        "map": map_id,
        "status": "deleted",
    }


def test_the_shop_events_span_twelve_iso_weeks() -> None:
    events = shop_events()
    assert len(events) == 40 + 26 + 10
    assert max(e.timestamp for e in events) - T0 == timedelta(days=78)


# --- one read of the events per run -----------------------------------------------------------


def _assert_stored_figures_are_the_engine_figures(journey_map) -> int:
    """Every stored subject, period and week equals compute_metrics of it; how many compared."""
    window = timedelta(days=materialise.COMPARISON_DAYS)
    personas = {persona.pk: persona for persona in journey_map.personas.all()}
    compared = 0
    rows = MapMetrics.objects.filter(map=journey_map).order_by("pk")
    assert rows.count() == 1 + len(personas)
    for row in rows:
        persona = personas.get(row.persona_id)
        assert row.figures == compute_metrics(journey_map=journey_map, persona=persona)
        assert row.recent == compute_metrics(
            journey_map=journey_map, start=row.end - window, end=row.end, persona=persona
        )
        assert row.previous == compute_metrics(
            journey_map=journey_map,
            start=row.end - 2 * window,
            end=row.end - window,
            persona=persona,
        )
        weeks = iso_weeks(row.start, row.end)
        assert len(row.weekly) == len(weeks) > 1
        for week, (week_start, week_end) in zip(row.weekly, weeks, strict=True):
            figures = compute_metrics(
                journey_map=journey_map, start=week_start, end=week_end, persona=persona
            )
            assert (week["start"], week["end"]) == (figures["start"], figures["end"])
            assert week["totals"] == figures["totals"] and week["stages"] == figures["stages"]
        compared += 3 + len(weeks)
    return compared


def _count_event_reads(monkeypatch) -> list:
    from analytics import loading

    reads = []
    real = loading.load_events

    def counted(**arguments):
        reads.append(arguments)
        return real(**arguments)

    monkeypatch.setattr(loading, "load_events", counted)
    return reads


def test_a_run_reads_the_events_once_and_stores_what_compute_metrics_gives_each_period(
    shop, monkeypatch
) -> None:
    reads = _count_event_reads(monkeypatch)

    recompute_map_metrics.enqueue(shop.journey_map.pk)

    monkeypatch.undo()
    assert len(reads) == 1  # all users and the persona, every period: one table
    assert reads[0]["start"] is None and reads[0]["end"] is None
    assert _assert_stored_figures_are_the_engine_figures(shop.journey_map) == 3 * (3 + 12)


def test_the_demo_map_stores_what_compute_metrics_gives_each_persona_and_period(
    db, monkeypatch
) -> None:
    from journeymap.services import demo_load

    reads = _count_event_reads(monkeypatch)
    journey_map = demo_load().journey_map
    monkeypatch.undo()

    assert len(reads) == 1
    assert any(persona.segment is not None for persona in journey_map.personas.all())
    assert _assert_stored_figures_are_the_engine_figures(journey_map) > 20
