"""An import whose worker died is shown failed (and can be retried), a live or queued one is not.

The import lock stands for the worker: held by a live process (another flock on SQLite, another
connection's advisory lock on PostgreSQL), the import is alive; free, with its task taken a while
ago, the worker is gone. test_import_kill.py does the same with a real worker and a real SIGKILL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from analytics.importing import liveness
from analytics.models import Dataset, DatasetStatus
from analytics.services import WORKER_DIED, dataset_fail_if_orphaned
from analytics.tasks import import_dataset


@pytest.fixture
def importing(workspace, settings) -> Dataset:
    """A dataset whose import task was queued (the database task backend of production)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    dataset = Dataset.objects.create(
        workspace=workspace,
        name="October events",
        original_file="datasets/events.csv",
        content_hash="0" * 64,
        status=DatasetStatus.IMPORTING,
        progress_total=1000,
        progress_rows=400,
    )
    import_dataset.enqueue(dataset.pk)
    return dataset


def _taken(dataset: Dataset, ago: timedelta) -> None:
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=timezone.now() - ago)


@contextlib.contextmanager
def _held_by_another_process(dataset: Dataset) -> Iterator[None]:
    if connection.vendor == "postgresql":
        import psycopg

        settings = connection.settings_dict
        with psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            autocommit=True,
        ) as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", [liveness.ADVISORY_CLASS, dataset.pk])
            yield
        return
    acquired, descriptor = liveness._try_acquire(dataset.pk)  # its own open file: its own flock
    assert acquired
    try:
        yield
    finally:
        liveness._release(dataset.pk, descriptor)


def _detail(client, dataset: Dataset):
    return client.get(f"/w/{dataset.workspace.slug}/datasets/{dataset.pk}/")


def test_the_dataset_page_fails_an_import_whose_worker_died(ws_admin_client, importing):
    _taken(importing, ago=timedelta(minutes=3))

    response = _detail(ws_admin_client, importing)

    assert response.status_code == 200
    assert "The import failed; nothing was imported." in response.content.decode()
    assert WORKER_DIED in response.content.decode()
    importing.refresh_from_db()
    assert (importing.status, importing.error_message) == (DatasetStatus.FAILED, WORKER_DIED)
    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path == "analytics.tasks.ImportWorkerDied"
    assert task.finished_at is not None


def test_an_import_whose_worker_is_alive_keeps_going(importing):
    _taken(importing, ago=timedelta(hours=2))  # a long import is not a dead one

    with _held_by_another_process(importing):
        assert dataset_fail_if_orphaned(dataset=importing) is False

    importing.refresh_from_db()
    assert importing.status == DatasetStatus.IMPORTING
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


def test_a_queued_import_or_one_taken_only_just_now_is_not_failed(importing):
    assert dataset_fail_if_orphaned(dataset=importing) is False  # waiting for a worker

    _taken(importing, ago=timedelta(seconds=1))  # the worker is about to take the lock
    assert dataset_fail_if_orphaned(dataset=importing) is False

    importing.refresh_from_db()
    assert importing.status == DatasetStatus.IMPORTING


def test_the_lock_is_the_importers_alone_while_it_runs(importing):
    with liveness.import_running(importing.pk) as mine:
        assert mine
        with liveness.import_running(importing.pk) as again:  # the task, then the service
            assert again
        assert liveness.import_is_running(importing.pk)
    assert not liveness.import_is_running(importing.pk)
    with (
        _held_by_another_process(importing),
        liveness.import_running(importing.pk, wait=0.2) as mine,
    ):
        assert not mine


def test_an_import_that_finished_meanwhile_is_left_alone(importing):
    _taken(importing, ago=timedelta(minutes=3))
    Dataset.objects.filter(pk=importing.pk).update(status=DatasetStatus.READY)  # just finished

    assert dataset_fail_if_orphaned(dataset=importing) is False  # it still says "importing"

    assert importing.status == DatasetStatus.READY
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING  # its worker ends it
