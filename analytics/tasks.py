"""Background work of the analytics app (DESIGN §2): tasks take ids and are idempotent."""

from django.tasks import task

from analytics.models import Dataset


@task
def import_dataset(dataset_id: int) -> dict[str, object]:
    """Import a dataset's file; running it again gives the same rows once."""
    from analytics.services import dataset_import

    try:
        dataset = dataset_import(dataset_id=dataset_id)
    except Dataset.DoesNotExist:
        return {"dataset": dataset_id, "status": "deleted"}
    return {"dataset": dataset.pk, "status": dataset.status, "rows": dataset.row_count}


@task
def recompute_map_metrics(map_id: int) -> dict[str, object]:
    """Compute and store a map's figures (analytics.materialise); a stale run is a no-op."""
    from analytics.materialise import metrics_recompute

    return metrics_recompute(map_id=map_id)


@task
def compute_range_metrics(
    map_id: int, persona_id: int | None, start_iso: str, end_iso: str
) -> dict[str, object]:
    """Compute and store a map's figures over [start, end) (analytics.ranges); a no-op when the
    stored ones are current."""
    from datetime import datetime

    from analytics.ranges import range_metrics_compute

    return range_metrics_compute(
        map_id=map_id,
        persona_id=persona_id,
        start=datetime.fromisoformat(start_iso),
        end=datetime.fromisoformat(end_iso),
    )
