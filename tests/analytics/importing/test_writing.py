"""Writing staged rows: the fast paths store exactly what Django's ORM would store."""

import json
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest
from django.db import connection, transaction

from analytics.importing import writing
from analytics.models import Event

from ..uploads import upload

pytestmark = pytest.mark.django_db

STAMPS = [
    datetime(2024, 1, 1, 10, 0, 0, tzinfo=UTC),
    datetime(2024, 1, 1, 10, 0, 0, 250, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 2, 29, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 3, 1, 12, 30, 0, 500000, tzinfo=UTC),
    datetime(2024, 3, 1, 12, 30, 0, tzinfo=UTC),
    datetime(2200, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
]
ROWS = [
    {
        "timestamp": stamp,
        "event": ["view", "purchase", "café ☕", "a'b", 'say "hi"', "x" * 200, "view"][number],
        "user_id": f"u{number % 3}",
        "session_id": "" if number % 2 else f"s{number}",
        "page": "/p?q=1&r=2" if number == 4 else "",
        "source": "",
        "medium": "",
        "campaign": "",
        "channel": "",
        "device": "",
        "country": "",
        "revenue": [0.0, 19.99, 1e-9, 123456789.125, 0.0, -5.5, 0.1][number],
        "order_id": "",
        "extra": None if number in (0, 5) else f'{{"brand":"b{number}","note":"é \\"q\\""}}',
    }
    for number, stamp in enumerate(STAMPS)
]
COLUMNS = [name for name in ROWS[0] if name not in ("timestamp", "extra")]


def _stored(dataset_id: int) -> list[tuple]:
    """The rows in insertion order: as the database holds them, and `extra` as the ORM reads it."""
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CAST(timestamp AS TEXT), {', '.join(COLUMNS)} FROM {table} "
            "WHERE dataset_id = %s ORDER BY id",
            [dataset_id],
        )
        stored = cursor.fetchall()
    extras = Event.objects.filter(dataset_id=dataset_id).order_by("id").values_list("extra")
    return [row + extra for row, extra in zip(stored, extras, strict=True)]


@pytest.mark.parametrize("rows_per_insert", [1, 3, 2_000])
def test_write_batch_stores_what_the_orm_stores(workspace, monkeypatch, rows_per_insert):
    by_orm = upload(workspace, "a,b\n1,2\n", name="orm.csv").dataset
    by_batch = upload(workspace, "a,b\n3,4\n", name="batch.csv").dataset
    Event.objects.bulk_create(
        Event(dataset=by_orm, **{**row, "extra": json.loads(row["extra"] or "null")})
        for row in ROWS
    )
    monkeypatch.setattr(writing, "SQLITE_ROWS_PER_INSERT", rows_per_insert)

    frame = pd.DataFrame(ROWS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    writing.write_batch("events", by_batch.pk, frame)

    assert len(_stored(by_batch.pk)) == len(ROWS)
    assert _stored(by_batch.pk) == _stored(by_orm.pk)


def _replication_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return cursor.fetchone()[0]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the foreign key check is PostgreSQL's"
)


@postgresql_only
def test_rows_of_the_locked_dataset_skip_the_foreign_key_check_only_inside(workspace):
    dataset = upload(workspace, "a,b\n1,2\n").dataset
    frame = pd.DataFrame(ROWS)

    with transaction.atomic():
        with writing.trusted_rows():
            inside = _replication_role()
            writing.write_batch("events", dataset.pk, frame)
        after = _replication_role()

    assert (inside, after) == ("replica", "origin")
    assert Event.objects.filter(dataset=dataset).count() == len(ROWS)


@postgresql_only
def test_a_role_that_may_not_skip_the_check_writes_with_it(workspace):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL ROLE pg_read_all_data")  # built in, not a superuser
        with writing.trusted_rows():
            inside = _replication_role()
        still_usable = Event.objects.count()  # the refused SET left the transaction usable

    assert inside == "origin"
    assert still_usable == 0


def _checks_ignored() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's CHECK of the JSON columns")
def test_sqlite_skips_the_json_check_of_rows_it_made_only_inside(workspace):
    dataset = upload(workspace, "a,b\n1,2\n").dataset

    with transaction.atomic():
        with writing.trusted_rows():
            inside = _checks_ignored()
            writing.write_batch("events", dataset.pk, pd.DataFrame(ROWS))
        after = _checks_ignored()

    assert (inside, after) == (1, 0)
    assert Event.objects.filter(dataset=dataset).count() == len(ROWS)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's CHECK of the JSON columns")
def test_sqlite_keeps_the_json_check_for_json_read_from_the_file(workspace):
    with transaction.atomic(), writing.trusted_rows(json_is_ours=False):
        inside = _checks_ignored()

    assert inside == 0


@pytest.mark.parametrize("size", [1, 3, 4, 7, 50])
def test_the_stage_gives_back_every_row_in_order_size_at_a_time(tmp_path, size):
    stage = writing.Stage(tmp_path / "rows.arrows", "events")
    frame = pd.DataFrame(ROWS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    frame.insert(0, "line", range(2, 2 + len(frame)))
    for start, end in ((0, 2), (2, 2), (2, 5), (5, 7)):  # chunks of 2, 0, 3 and 2 rows
        stage.append(frame.iloc[start:end])
    stage.close()

    batches = list(stage.batches(size))

    assert [len(batch) for batch in batches[:-1]] == [size] * (len(batches) - 1)
    assert 0 < len(batches[-1]) <= size
    back = pa.Table.from_batches(batches)
    assert back["line"].to_pylist() == list(range(2, 2 + len(ROWS)))
    assert back["timestamp"].to_pylist() == STAMPS
    assert back["event"].to_pylist() == [row["event"] for row in ROWS]
    assert back["extra"].to_pylist() == [row["extra"] for row in ROWS]


def test_a_stage_without_rows_gives_no_batch(tmp_path):
    stage = writing.Stage(tmp_path / "rows.arrows", "events")
    stage.close()

    assert list(stage.batches(10)) == []
