"""Whether a dataset's import is still running somewhere, so that a killed one can be failed.

The import runs in a task worker; a worker killed mid-import (SIGKILL, out of memory, a machine
lost) leaves its task "running" and the dataset "importing" forever, since nothing is left to say
otherwise. So the process running an import holds a lock that the operating system or the database
releases when that process dies, and whoever wonders asks whether the lock is still held:

- PostgreSQL: a session-level advisory lock, released when the importer's connection closes (every
  web process and worker, on any machine, sees it);
- SQLite: an flock on a file in a temporary directory named after the database file (the database
  is on this machine, so is every process using it); the kernel releases it when the process dies.

No timing guesses: a slow import is alive as long as its process is.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

# The first key of the two-key PostgreSQL advisory lock: "JM" + 1, so no other lock of the app
# (or of anything else sharing the database) collides with the dataset ids in the second key.
ADVISORY_CLASS = 0x4A4D01
ACQUIRE_WAIT_SECONDS = 5.0  # a checker holds the lock for a moment; the importer waits that out

_held: dict[int, int | None] = {}  # dataset id → flock file descriptor (None on PostgreSQL)


def _lock_path(dataset_id: int) -> Path:
    database = str(connection.settings_dict["NAME"])
    tag = hashlib.sha256(database.encode()).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / f"journeymap-imports-{tag}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"dataset-{dataset_id}.lock"


def _try_acquire(dataset_id: int) -> tuple[bool, int | None]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_CLASS, dataset_id])
            (acquired,) = cursor.fetchone()
        return bool(acquired), None
    import fcntl

    descriptor = os.open(_lock_path(dataset_id), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return False, None
    return True, descriptor


def _release(dataset_id: int, descriptor: int | None) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_CLASS, dataset_id])
        return
    if descriptor is not None:
        os.close(descriptor)  # closing the only descriptor of the open file drops the flock


@contextlib.contextmanager
def import_running(dataset_id: int, wait: float = ACQUIRE_WAIT_SECONDS) -> Iterator[bool]:
    """Hold the dataset's import lock while the block runs; False when another process holds it.

    Re-entrant within one process (the task holds it, then the service it calls asks again).
    """
    if dataset_id in _held:
        yield True
        return
    deadline = time.monotonic() + wait
    acquired, descriptor = _try_acquire(dataset_id)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.05)
        acquired, descriptor = _try_acquire(dataset_id)
    if not acquired:
        yield False
        return
    _held[dataset_id] = descriptor
    try:
        yield True
    finally:
        del _held[dataset_id]
        _release(dataset_id, descriptor)


def import_is_running(dataset_id: int) -> bool:
    """Whether some live process (this one included) holds the dataset's import lock now."""
    if dataset_id in _held:
        return True
    acquired, descriptor = _try_acquire(dataset_id)
    if acquired:
        _release(dataset_id, descriptor)
    return not acquired
