"""An import whose worker is killed (SIGKILL) at a random point leaves no rows and can be retried.

A real `manage.py db_worker` imports a generated event log from the database the test shares with
it; the test kills the worker at a random point of the import: while it reads the file (at a random
share of the rows) or while it writes them in one transaction (a random delay after the last row
was read). Then none of its rows are stored, the dataset is not left "importing" (the next
worker to start marks it failed, with a message saying to start it again), and the retry imports
every row. JM_FAULTS_LONG=1 kills it several times in a row before letting it finish.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time

import pytest

from analytics.services import WORKER_DIED
from bench.generate import generate
from tests.reliability.processes import LONG, start, stop, wait_for

ROWS = 400_000 if LONG else 100_000
KILLS = 6 if LONG else 1
# How long after the last row was read the kill may come: well inside the write of ROWS rows even
# on an idle machine (100,000 rows took under 0.86 s to write and commit on SQLite in CI).
WRITE_DELAY_MAX = 0.6 if LONG else 0.15
ROW_TABLES = ("analytics_event", "analytics_aggregaterow", "analytics_surveyresponse")
IMPORT_TASK = "analytics.tasks.import_dataset"

pytestmark = pytest.mark.django_db(transaction=True)


def _dataset(database, dataset_id: int) -> tuple[str, int, int, int, str]:
    return database.query(
        "SELECT status, progress_rows, progress_total, row_count, error_message "
        "FROM analytics_dataset WHERE id = ?",
        (dataset_id,),
    )[0]


def _stored_rows(database, dataset_id: int) -> int:
    return sum(
        database.value(f"SELECT COUNT(*) FROM {table} WHERE dataset_id = ?", (dataset_id,))
        for table in ROW_TABLES
    )


def _import_tasks(database) -> list[tuple[str, str]]:
    return database.query(
        "SELECT status, exception_class_path FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = ? ORDER BY enqueued_at",
        (IMPORT_TASK,),
    )


def _kill_at_random_point(database, dataset_id: int, worker, rng: random.Random) -> str:
    """Wait for the point drawn, SIGKILL the worker there; where it was killed."""
    wait_for(
        lambda: any(status == "RUNNING" for status, _ in _import_tasks(database)),
        120,
        "the worker to take the import",
    )
    if rng.random() < 0.5:  # while reading the file, once a random share of it was read
        share = rng.uniform(0.05, 0.9)

        def reached() -> bool:
            _status, read, total, _rows, _message = _dataset(database, dataset_id)
            return total > 0 and read >= share * total

        wait_for(reached, 120, f"{share:.0%} of the rows read")
        where = f"reading, {share:.0%} of the rows read"
    else:  # while writing the rows in one transaction: a random moment after the last was read
        wait_for(
            lambda: (row := _dataset(database, dataset_id))[1] >= row[2] > 0,
            120,
            "every row read",
        )
        delay = rng.uniform(0.0, WRITE_DELAY_MAX)
        time.sleep(delay)
        where = f"writing, {delay:.2f} s after the last row was read"
    assert _dataset(database, dataset_id)[0] == "importing", f"the import ended before {where}"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    return where


def test_an_import_killed_at_random_points_leaves_no_rows_and_the_retry_imports_every_row(
    shared_database, tmp_path
):
    database = shared_database
    began = time.monotonic()
    seed = int(os.environ.get("JM_FAULTS_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    events = generate(ROWS, tmp_path / "events.csv")
    dataset_id = database.scenario("start-import", str(events))["dataset"]
    print(f"queued at {time.monotonic() - began:.1f} s")

    def start_worker():
        command = [sys.executable, "manage.py", "db_worker", "--interval", "0.1"]
        return start([*command, "--no-startup-delay", "-v", "2"], database.env(), log)

    log = tmp_path / "workers.log"
    kills: list[str] = []
    worker = start_worker()
    try:
        for _ in range(KILLS):
            kills.append(_kill_at_random_point(database, dataset_id, worker, rng))
            print(f"killed at {time.monotonic() - began:.1f} s")

            assert _stored_rows(database, dataset_id) == 0, (
                f"rows left after killing it {kills[-1]}"
            )
            assert _dataset(database, dataset_id)[0] == "importing"  # stuck, until a worker looks

            worker = start_worker()  # a restarted worker fails the orphaned import first
            status, _read, _total, rows, message = wait_for(
                lambda: (row := _dataset(database, dataset_id))[0] != "importing" and row,
                60,
                "the restarted worker to fail the killed import",
            )
            assert (status, rows, message) == ("failed", 0, WORKER_DIED)
            print(f"reaped at {time.monotonic() - began:.1f} s")
            assert _import_tasks(database)[-1] == ("FAILED", "analytics.tasks.ImportWorkerDied")
            assert _stored_rows(database, dataset_id) == 0

            assert database.scenario("retry", str(dataset_id))["status"] == "importing"

        status, _read, _total, rows, message = wait_for(
            lambda: (row := _dataset(database, dataset_id))[0] != "importing" and row,
            300,
            "the retried import to finish",
            every=0.5,
        )
    finally:
        stop(worker)
    print(f"done at {time.monotonic() - began:.1f} s")
    assert (status, message) == ("ready", ""), log.read_text()[-3000:]
    assert rows == ROWS
    assert (
        database.value("SELECT COUNT(*) FROM analytics_event WHERE dataset_id = ?", (dataset_id,))
        == ROWS
    )
    assert [status for status, _ in _import_tasks(database)] == ["FAILED"] * KILLS + ["SUCCESSFUL"]
    print(
        f"\nfaults: {len(kills)} SIGKILL(s) of the import worker ({database.vendor}, {ROWS} rows, "
        f"seed {seed}): " + "; ".join(kills)
    )
