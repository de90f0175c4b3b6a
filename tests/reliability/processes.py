"""Child processes of the fault tests (task workers, gunicorn) and the database they share."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]
LONG = os.environ.get("JM_FAULTS_LONG", "") not in ("", "0")


def child_env(database_url: str, media: Path, **extra: str) -> dict[str, str]:
    """The environment of a child: the shared database and media, the production settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        # the browser tests set it in this process; the children must not inherit it
        if key not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "journeymap.settings",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media),
            "DEBUG": "0",
            "SECRET_KEY": "journeymap-fault-tests-only-5d1f0c2b9e7a4c36-not-a-production-key",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


@dataclass
class SharedDatabase:
    """The database the test and its children share, read by the test with plain SQL."""

    vendor: str
    url: str
    media: Path
    path: Path | None = None  # the SQLite file

    def env(self, **extra: str) -> dict[str, str]:
        return child_env(self.url, self.media, **extra)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement, in autocommit (so it sees what the children committed)."""
        if self.vendor == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path, timeout=20)) as connection:
                return connection.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(
            self.url.replace("postgres://", "postgresql://"), autocommit=True
        ) as c:
            return c.execute(sql.replace("?", "%s"), params).fetchall()

    def value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.query(sql, params)[0][0]

    def scenario(self, *arguments: str) -> dict[str, Any]:
        """Run a step of tests/reliability/scenario.py in a child; its JSON result."""
        run = subprocess.run(
            [sys.executable, "-m", "tests.reliability.scenario", *arguments],
            cwd=BASE_DIR,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
        return json.loads(run.stdout.strip().splitlines()[-1])


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a child in its own process group, its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a child and its process group (gunicorn's workers), politely first."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; its value. Fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"The server stopped at start:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        return False

    wait_for(answering, timeout, f"the server on port {port}", every=0.2)
