"""The database going away mid-request: a clean 503 page, and the app serving again once it is back.

In process, the session store raising the errors a lost database raises stands for the outage. Then
for real, on PostgreSQL: gunicorn (production settings, persistent connections) reaches the database
through a TCP proxy in the test, which is cut (every connection broken, new ones refused) during a
bounded load and restored; the shared PostgreSQL server itself is never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import Client

from bench.loadgen import fetch
from tests.reliability.processes import (
    BASE_DIR,
    LONG,
    ON_POSTGRESQL,
    SharedDatabase,
    TcpProxy,
    free_port,
    run_async,
    start,
    stop,
    wait_for_port,
)

OUTAGE_PAGE = "Journeymap is temporarily unavailable"
LEAKS = ("Traceback", "OperationalError", "InterfaceError", "psycopg", "connection", 'File "')


def _client_of(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection to server at 127.0.0.1 failed: Connection refused"),
        InterfaceError("connection already closed"),
    ],
)
def test_a_lost_database_gets_the_503_page_without_a_traceback(
    ws_editor, workspace, monkeypatch, error
):
    client = _client_of(ws_editor)

    def unreachable(self):
        raise error

    monkeypatch.setattr(SessionStore, "load", unreachable)
    response = client.get(f"/w/{workspace.slug}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert OUTAGE_PAGE in body
    assert not any(leak in body for leak in LEAKS)


def test_any_other_failure_gets_the_500_page(ws_editor, workspace, monkeypatch):
    client = _client_of(ws_editor)

    def broken(self):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(SessionStore, "load", broken)
    response = client.get(f"/w/{workspace.slug}/")

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "a bug" not in response.content.decode()


# -- for real: PostgreSQL behind a proxy that is cut during a load -------------------------------

CLIENTS = 6
OUTAGE = 8.0 if LONG else 3.0  # seconds the database is unreachable
SETTLE = 1.0  # requests in flight when the proxy is cut or restored may go either way
ENOUGH = 2 * CLIENTS  # pages served before the cut, and again after the restore
PAGE = "/w/faults/"  # the maps list: a session, a membership and the maps read from the database


@dataclass(frozen=True)
class Answer:
    started: float
    ended: float
    status: int
    body: str


async def _load(
    port: int, path: str, session: str, down: Callable[[], object], up: Callable[[], object]
) -> tuple[float, float, list[Answer]]:
    """Clients load `path`; once they are served, the database goes `down` for OUTAGE seconds,
    then comes back `up`. When it went down and came back, and every answer."""
    answers: list[Answer] = []
    began = time.monotonic()
    window = {"cut": float("inf"), "restored": float("inf"), "done": False}

    def served(after: float) -> int:
        return sum(1 for a in answers if a.started > after and a.status == 200)

    async def client() -> None:
        while not window["done"]:
            started = time.monotonic() - began
            response = await fetch(
                "127.0.0.1", port, "GET", path, {"Cookie": f"sessionid={session}"}
            )
            answers.append(
                Answer(started, time.monotonic() - began, response.status, response.body.decode())
            )

    async def until(condition, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def outage() -> None:
        await until(lambda: served(0) >= ENOUGH)
        window["cut"] = time.monotonic() - began  # from the moment it starts going down
        await asyncio.to_thread(down)
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(up)
        window["restored"] = time.monotonic() - began
        await until(lambda: served(window["restored"] + SETTLE) >= ENOUGH)
        window["done"] = True

    await asyncio.gather(*(client() for _ in range(CLIENTS)), outage())
    return window["cut"], window["restored"], answers


def _check_outage(
    answers: list[Answer], cut: float, restored: float, log_path: Path
) -> tuple[list[int], list[int], list[int]]:
    """Served before, a clean 503 page during, served after; the statuses of each period."""
    assert {answer.status for answer in answers} <= {200, 503}, log_path.read_text()[-3000:]
    for answer in answers:
        if answer.status == 503:
            assert OUTAGE_PAGE in answer.body
            assert not any(leak in answer.body for leak in LEAKS), answer.body[:2000]
    seen = [(round(a.started, 1), round(a.ended, 1), a.status) for a in answers]
    before = [a.status for a in answers if a.ended < cut]
    during = [a.status for a in answers if a.started > cut + SETTLE and a.ended < restored]
    recovered = [a.status for a in answers if a.started > restored + SETTLE]
    assert len(before) >= ENOUGH and set(before) == {200}, (cut, restored, seen)
    assert during and set(during) == {503}, (cut, restored, seen)
    assert len(recovered) >= ENOUGH and set(recovered) == {200}, (cut, restored, seen)
    return before, during, recovered


def _serve_through_outage(
    env: dict[str, str],
    session: str,
    down: Callable[[], object],
    up: Callable[[], object],
    tmp_path: Path,
) -> tuple[float, float, list[Answer], list[int], Path]:
    """gunicorn (2 workers, persistent connections) under load while the database goes down and
    comes back; then 10 more pages without restarting it. Fails if gunicorn itself stopped."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "journeymap.wsgi", "--workers", "2"]
    server = start(
        [*command, "--bind", f"127.0.0.1:{port}"], {**env, "CONN_MAX_AGE": "60"}, log_path
    )
    try:
        wait_for_port(port, server, log_path)
        cut, restored, answers = run_async(_load(port, PAGE, session, down, up))
        cookie = {"Cookie": f"sessionid={session}"}
        after = [run_async(fetch("127.0.0.1", port, "GET", PAGE, cookie)).status for _ in "0" * 10]
        assert server.poll() is None, log_path.read_text()[-3000:]
    finally:
        stop(server)
    return cut, restored, answers, after, log_path


@pytest.mark.skipif(
    not ON_POSTGRESQL, reason="SQLite is a file opened by the app itself: it cannot go away"
)
@pytest.mark.django_db(transaction=True)
def test_the_database_going_away_under_load_gets_503_pages_and_the_app_recovers_by_itself(
    shared_database, collected_static, tmp_path
):
    database = shared_database
    session = database.scenario("edit-setup", "1")["sessions"][0]
    parts = urllib.parse.urlsplit(database.url)
    proxy = TcpProxy(parts.port or 5432, parts.hostname or "127.0.0.1")
    proxy.open()
    through_proxy = urllib.parse.urlunsplit(
        parts._replace(netloc=f"postgres@127.0.0.1:{proxy.port}")
    )

    try:
        cut, restored, answers, after, log_path = _serve_through_outage(
            database.env(DATABASE_URL=through_proxy), session, proxy.cut, proxy.open, tmp_path
        )
    finally:
        proxy.close()

    before, during, recovered = _check_outage(answers, cut, restored, log_path)
    assert after == [200] * 10
    print(
        f"\ndatabase outage (proxy cut {proxy.cuts} time(s), {OUTAGE:.0f} s, {CLIENTS} clients): "
        f"{len(answers)} requests, {len(before)} served before, {during.count(503)} clean 503 "
        f"pages during, {len(recovered)} served after it came back, 0 restarts"
    )


# -- long variant: a private PostgreSQL cluster really restarted during the load -----------------

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture
def private_cluster(tmp_path_factory) -> Iterator[tuple[str, Callable, Callable]]:
    """A PostgreSQL cluster of this test alone on a free port: its URL, stop and start."""
    directory = Path(tempfile.mkdtemp(prefix="jm-faults-pg-"))
    data, port = directory / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    run = subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log")]

    def start_server() -> None:
        subprocess.run(
            _as_postgres([*pg_ctl, "-o", options, "-w", "start"]), check=True, capture_output=True
        )

    def stop_server() -> None:
        subprocess.run(
            _as_postgres([*pg_ctl, "-m", "fast", "-w", "stop"]), check=True, capture_output=True
        )

    start_server()
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres") as admin:
            admin.autocommit = True
            admin.execute("CREATE DATABASE journeymap")
        yield f"postgres://postgres@127.0.0.1:{port}/journeymap", stop_server, start_server
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.skipif(not LONG, reason="the long variant (JM_FAULTS_LONG=1)")
@pytest.mark.skipif(PG_BIN is None, reason="no PostgreSQL server binaries to make a cluster")
def test_postgresql_restarted_under_load_gets_503_pages_and_the_app_recovers_by_itself(
    private_cluster, collected_static, tmp_path
):
    url, stop_server, start_server = private_cluster
    database = SharedDatabase(vendor="postgresql", url=url, media=tmp_path / "media")
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=database.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    session = database.scenario("edit-setup", "1")["sessions"][0]

    cut, restored, answers, after, log_path = _serve_through_outage(
        database.env(), session, stop_server, start_server, tmp_path
    )

    before, during, recovered = _check_outage(answers, cut, restored, log_path)
    assert after == [200] * 10
    print(
        f"\nPostgreSQL restarted under load (stopped {OUTAGE:.0f} s, {CLIENTS} clients): "
        f"{len(answers)} requests, {len(before)} served before, {during.count(503)} clean 503 "
        f"pages during, {len(recovered)} served after it came back, 0 app restarts"
    )
