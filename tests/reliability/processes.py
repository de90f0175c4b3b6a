"""Child processes of the fault tests (task workers, gunicorn) and the database they share."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]
LONG = os.environ.get("JM_FAULTS_LONG", "") not in ("", "0")
ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


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


class TcpProxy:
    """A loopback TCP proxy to a server that the test can cut (every connection closed, new ones
    refused) and restore on the same port: the database "going away" without touching it."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.cuts = 0

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        wait_for(lambda: self._bind(listener), 10, f"port {self.port} to be free", every=0.1)
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _bind(self, listener: socket.socket) -> bool:
        try:
            listener.bind(("127.0.0.1", self.port))
        except OSError:
            return False
        return True

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:  # the listener was closed: the proxy is cut
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            with self.lock:
                self.sockets -= {source, sink}

    def cut(self) -> None:
        """Refuse new connections and break every open one, as a database that went away."""
        self.cuts += 1
        self._break()

    def _break(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not (Linux)
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            open_sockets = list(self.sockets)
        for end in open_sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._break()


def run_async[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: the browser tests (Playwright's sync API) leave an
    event loop running in the main thread when they run first in the same session, and
    asyncio.run refuses to start inside one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
