"""A database that real child processes (task workers, gunicorn) share with the test.

On SQLite, a migrated file in a temporary directory (copied from one migrated once per session); on
PostgreSQL, the test database pytest-django made, with `transactional_db` so the rows the test and
the children write are committed and visible to each other (and flushed afterwards). Every test
here is marked `django_db(transaction=True)` for that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.reliability.processes import BASE_DIR, ON_POSTGRESQL, SharedDatabase, child_env


@pytest.fixture(scope="session")
def _migrated_sqlite_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reliability-template") / "db.sqlite3"
    env = child_env(f"sqlite:///{path}", path.parent / "media")
    run = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return path


@pytest.fixture
def shared_database(request, tmp_path) -> SharedDatabase:
    media = tmp_path / "media"
    if ON_POSTGRESQL:
        from django.db import connection

        parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        name = connection.settings_dict["NAME"]
        url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
        return SharedDatabase(vendor="postgresql", url=url, media=media)
    template = request.getfixturevalue("_migrated_sqlite_file")
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(template, path)
    return SharedDatabase(vendor="sqlite", url=f"sqlite:///{path}", media=media, path=path)


@pytest.fixture(scope="session")
def collected_static() -> None:
    """The static files gunicorn serves with the production settings (their manifest)."""
    run = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=child_env("sqlite:///:memory:", BASE_DIR / "media"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
