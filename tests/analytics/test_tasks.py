"""The import task: takes an id, runs through the task backend, is idempotent."""

import pytest

from analytics.models import DatasetStatus, Event
from analytics.tasks import import_dataset

from .uploads import upload

pytestmark = pytest.mark.django_db

LOG = "timestamp,event,user_id\n2024-01-01T10:00:00Z,a,u1\n2024-01-01T10:05:00Z,b,u1\n"


def test_running_the_task_twice_gives_the_same_rows_once(workspace):
    dataset = upload(workspace, LOG).dataset

    first = import_dataset.enqueue(dataset.pk)
    second = import_dataset.enqueue(dataset.pk)

    assert first.return_value == {"dataset": dataset.pk, "status": "ready", "rows": 2}
    assert second.return_value == first.return_value
    assert Event.objects.filter(dataset=dataset).count() == 2


def test_rows_left_by_an_interrupted_run_are_replaced_not_doubled(workspace):
    dataset = upload(workspace, LOG).dataset
    import pandas as pd

    from analytics.importing import writing

    leftover = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-01-01T10:00:00Z"], utc=True),
            "event": ["a"],
            "user_id": ["u1"],
            "session_id": ["x"],
            "page": [""],
            "source": [""],
            "medium": [""],
            "campaign": [""],
            "channel": [""],
            "device": [""],
            "country": [""],
            "revenue": [0.0],
            "order_id": [""],
            "extra": [None],
        }
    )
    writing.write_batch("events", dataset.pk, leftover)
    dataset.status = DatasetStatus.IMPORTING
    dataset.save()

    result = import_dataset.enqueue(dataset.pk)

    assert result.return_value["status"] == "ready"
    assert sorted(Event.objects.filter(dataset=dataset).values_list("event", flat=True)) == [
        "a",
        "b",
    ]


def test_a_deleted_dataset_is_not_an_error(workspace):
    dataset = upload(workspace, LOG).dataset
    dataset_id = dataset.pk
    dataset.delete()

    assert import_dataset.enqueue(dataset_id).return_value == {
        "dataset": dataset_id,
        "status": "deleted",
    }
