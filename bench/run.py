"""`make bench`: the figures of DESIGN §10, measured on this machine, printed and kept as JSON.

For each size (100,000 / 1,000,000 / 5,000,000 events by default; `--sizes` or `make bench
SIZES=...`) it generates an event log in the public e-commerce shape (bench/generate.py) and:

1. imports it with `manage.py import_analytics` in a process of its own, measured from outside
   (`os.wait4`): wall and CPU seconds, rows per second and the peak RSS of the whole process;
2. times `compute_metrics` of a 6-stage map with 20 touchpoint rules, for all users and for the
   map's one persona, each in a process of its own, best of 3;
3. on the map of 1,000,000 events, serves the app with gunicorn and the production settings
   (DEBUG=0, several workers, after collectstatic), logs in and drives 20 concurrent clients with
   no pause for a fixed time against the map editor, the dashboard (when the app has one) and an
   htmx save of a stage field: p50/p95/p99, requests per second, errors;
4. prints one table and writes everything, with the machine and the load average next to every
   figure, to bench/results/latest.json.

SQLite by default (a file in the work directory); PostgreSQL when DATABASE_URL is a postgres://
URL: its server and user, but always the dedicated database `journeymap_bench` (dropped and
created again at the start), never the one named in the URL. `--quick` (the test's mode) runs
10,000 events and 3 seconds of load into a throw-away database. `--phases metrics,pages` measures
again on the last run's database; `--markdown RESULT.json` prints a result as the README's tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.generate import generate

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (100_000, 1_000_000, 5_000_000)
QUICK_SIZE = 10_000
PAGES_SIZE = 1_000_000
WORKSPACE = "bench"
USERNAME = "bench"
PASSWORD = "bench-Passw0rd-2019"
PERSONA = "Premium shopper"
PG_DATABASE = "journeymap_bench"
DASHBOARD_URL_NAMES = ("map_dashboard", "dashboard")
TARGETS = {  # DESIGN §10
    "import_rows_per_s": 100_000,
    "import_peak_rss_mb": 1024,
    "metrics_s": 5.0,
    "page_p95_ms": 100.0,
}


@dataclass
class Config:
    sizes: list[int]
    quick: bool
    workdir: Path
    output: Path
    seconds: float
    warmup: float
    clients: int
    workers: int
    max_requests: int
    repeat: int
    pg_database: str
    think: float  # seconds a client pauses between requests in the second pass (0: none)
    phases: list[str]  # import, metrics, pages: without import, the last database is reused


@dataclass
class Measured:
    """A finished child process: its exit, output and what it cost."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    load_before: float
    load_after: float

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


@dataclass
class Bench:
    config: Config
    env: dict[str, str] = field(default_factory=dict)
    database: dict[str, str] = field(default_factory=dict)
    children: list[subprocess.Popen] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    drop_database: str | None = None
    result: dict[str, Any] | None = None  # filled in as the run goes (kept if it fails)

    # -- processes ------------------------------------------------------------------------------

    def manage(self, *arguments: str) -> Measured:
        """Run a management command in a child process; raise with its output if it fails."""
        measured = self.measure([sys.executable, "manage.py", *arguments])
        if measured.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(arguments)} failed ({measured.returncode}):\n"
                f"{measured.stdout[-2000:]}\n{measured.stderr[-4000:]}"
            )
        return measured

    def measure(self, command: list[str]) -> Measured:
        """Run a child process to its end, measured from outside: wall, CPU, peak RSS."""
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=err, start_new_session=True
            )
            self.children.append(process)
            _pid, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            self.children.remove(process)
            out.seek(0)
            err.seek(0)
            return Measured(
                returncode=process.returncode,
                stdout=out.read().decode("utf-8", "replace"),
                stderr=err.read().decode("utf-8", "replace"),
                wall_s=wall,
                user_s=usage.ru_utime,
                sys_s=usage.ru_stime,
                peak_rss_mb=usage.ru_maxrss / 1024,  # kB on Linux
                load_before=load_before,
                load_after=os.getloadavg()[0],
            )

    def stop(self, process: subprocess.Popen) -> None:
        """Stop a child (its process group: gunicorn's workers with it), politely first."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process in self.children:
            self.children.remove(process)

    def cleanup(self) -> None:
        for process in list(self.children):
            self.stop(process)
        if "django" in sys.modules and self.env:
            from django.db import connections

            connections.close_all()
        if self.drop_database:
            with contextlib.suppress(Exception):
                _pg_admin(
                    self.database["url"],
                    f'DROP DATABASE IF EXISTS "{self.drop_database}" WITH (FORCE)',
                )

    # -- set-up ---------------------------------------------------------------------------------

    def prepare(self, *, reset: bool) -> None:
        """The database (a new one, unless reusing the last run's), the environment of every
        child, and Django in this process."""
        config = self.config
        config.workdir.mkdir(parents=True, exist_ok=True)
        given = os.environ.get("DATABASE_URL", "")
        if given.startswith(("postgres://", "postgresql://")):
            parts = urllib.parse.urlsplit(given)
            url = urllib.parse.urlunsplit(parts._replace(path="/" + config.pg_database))
            if reset:
                _pg_admin(url, f'DROP DATABASE IF EXISTS "{config.pg_database}" WITH (FORCE)')
                _pg_admin(url, f'CREATE DATABASE "{config.pg_database}"')
            if config.quick:
                self.drop_database = config.pg_database
            self.database = {"vendor": "postgresql", "url": url, "name": config.pg_database}
        else:
            path = config.workdir / "bench.sqlite3"
            if reset:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.database = {"vendor": "sqlite", "url": f"sqlite:///{path}", "name": str(path)}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "journeymap.settings",
            "DATABASE_URL": self.database["url"],
            "MEDIA_ROOT": str(config.workdir / "media"),
            "DEBUG": "0",
            "SECRET_KEY": "journeymap-bench-only-0f6c1e7d9a2b4c8e-not-a-production-key",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "MAX_UPLOAD_MB": "4096",  # the 5,000,000-event log is 618 MB; the default refuses it
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(self.env)
        self.manage("migrate", "--noinput", "-v", "0")
        import django

        django.setup()
        from journeymap.services import member_ensure, workspace_create

        workspace, _ = workspace_create(slug=WORKSPACE, name="Bench")
        member_ensure(workspace=workspace, username=USERNAME, role="admin", password=PASSWORD)
        self.database["version"] = _database_version(self.database["vendor"])

    def make_map(self, name: str, document: dict[str, Any]) -> Any:
        """The bench workspace's map of that name: the last run's when reusing its database."""
        from journeymap.mapjson import map_import
        from journeymap.models import JourneyMap, Workspace

        workspace = Workspace.objects.get(slug=WORKSPACE)
        existing = JourneyMap.objects.filter(workspace=workspace, name=name).first()
        if existing is not None:
            return existing
        return map_import(data={**document, "name": name}, workspace=workspace)

    def event_file(self, size: int) -> Path:
        """The generated log of `size` events (kept in the work directory: same seed, same file)."""
        path = self.config.workdir / f"events-{size}.csv"
        done = path.with_suffix(".done")
        if not (path.exists() and done.exists()):
            done.unlink(missing_ok=True)
            generate(size, path)
            done.touch()
        return path

    # -- 1. import ------------------------------------------------------------------------------

    def import_events(self, size: int, journey_map: Any) -> dict[str, Any]:
        path = self.event_file(size)
        measured = self.manage(
            "import_analytics",
            str(path),
            "--workspace",
            WORKSPACE,
            "--name",
            f"events-{size}",
            "--attach",
            journey_map.slug,
        )
        imported = int(re.search(r"Imported (\d+) rows", measured.stdout).group(1))
        rejected = int(re.search(r"Rejected (\d+) rows", measured.stdout).group(1))
        return {
            "size": size,
            "rows": imported,
            "rejected": rejected,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "wall_s": round(measured.wall_s, 2),
            "cpu_s": round(measured.cpu_s, 2),
            "rows_per_s": round(imported / measured.wall_s),
            "rows_per_cpu_s": round(imported / measured.cpu_s),
            "peak_rss_mb": round(measured.peak_rss_mb),
            "load_before": round(measured.load_before, 2),
            "load_after": round(measured.load_after, 2),
        }

    # -- 2. metrics -----------------------------------------------------------------------------

    def probe(self, *arguments: str) -> tuple[dict[str, Any], Measured]:
        measured = self.measure([sys.executable, "-m", "bench.probe", *arguments])
        if measured.returncode != 0:
            raise RuntimeError(f"bench.probe {' '.join(arguments)} failed:\n{measured.stderr}")
        return json.loads(measured.stdout.strip().splitlines()[-1]), measured

    def time_metrics(self, size: int, journey_map: Any) -> dict[str, Any]:
        repeat = str(self.config.repeat)
        every, run_all = self.probe("metrics", str(journey_map.pk), "--repeat", repeat)
        persona, run_persona = self.probe(
            "metrics", str(journey_map.pk), "--persona", PERSONA, "--repeat", repeat
        )
        return {
            "size": size,
            "events": every["events"],
            "users": every["users"],
            "stages": every["stages"],
            "rules": RULES,
            "all_users_s": every["best_wall_s"],
            "all_users_cpu_s": every["best_cpu_s"],
            "persona_s": persona["best_wall_s"],
            "persona_cpu_s": persona["best_cpu_s"],
            "persona_users": persona["users"],
            "runs": {"all_users": every["runs"], "persona": persona["runs"]},
            "peak_rss_mb": round(max(run_all.peak_rss_mb, run_persona.peak_rss_mb)),
            "load_before": round(run_all.load_before, 2),
            "load_after": round(run_persona.load_after, 2),
        }

    # -- 3. pages -------------------------------------------------------------------------------

    def serve_and_load(self, size: int, journey_map: Any, edits: Any) -> dict[str, Any]:
        from django.db import connections
        from django.urls import NoReverseMatch, reverse

        materialised, _ = self.probe("materialise", str(journey_map.pk))
        self.manage("collectstatic", "--noinput", "-v", "0")
        editor = reverse("map_detail", kwargs={"workspace": WORKSPACE, "slug": journey_map.slug})
        dashboard = None
        for name in DASHBOARD_URL_NAMES:
            with contextlib.suppress(NoReverseMatch):
                dashboard = reverse(name, kwargs={"workspace": WORKSPACE, "slug": journey_map.slug})
                break
        if dashboard is None:
            self.notes.append(
                "No dashboard page: none of the URL names "
                f"{', '.join(DASHBOARD_URL_NAMES)} resolves, so it was not measured."
            )
            print(f"note: {self.notes[-1]}", flush=True)
        edits_url = edits.get_absolute_url()
        stages = list(edits.stages.order_by("position").values_list("pk", "version"))
        versions = {pk: version for pk, version in stages}
        connections.close_all()

        port = _free_port()
        log = (self.config.workdir / "gunicorn.log").open("wb")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "journeymap.wsgi",
                "--workers",
                str(self.config.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
        self.children.append(server)
        try:
            _wait_for_port(port, server)
            outcome = asyncio.run(
                self._load(port, editor, dashboard, edits_url, stages, server.pid)
            )
        finally:
            self.stop(server)
            log.close()
        saved = sum(
            version - versions[pk]
            for pk, version in edits.stages.values_list("pk", "version")
            if pk in versions
        )
        connections.close_all()
        outcome.update(
            size=size,
            events=size,
            map=journey_map.slug,
            workers=self.config.workers,
            clients=self.config.clients,
            materialise_s=materialised["wall_s"],
            materialise_cpu_s=materialised["cpu_s"],
            saves_stored=saved,
            saves_answered_ok=outcome.pop("_saves_ok"),
        )
        return outcome

    async def _load(
        self,
        port: int,
        editor: str,
        dashboard: str | None,
        edits_url: str,
        stages: list[tuple[int, int]],
        server_pid: int,
    ) -> dict[str, Any]:
        from django.urls import reverse

        session = loadgen.Session("127.0.0.1", port)
        await session.login(reverse("login"), USERNAME, PASSWORD)
        saves_ok = 0

        def save_request(client: int) -> loadgen.Request:
            pk, version = stages[client % len(stages)]
            state = {"version": version, "count": 0}
            path = reverse(
                "stage_part_edit", kwargs={"workspace": WORKSPACE, "pk": pk, "part": "actions"}
            )

            def body() -> bytes:
                state["count"] += 1
                form = {
                    "actions": f"Client {client} compares prices (save {state['count']}).",
                    "expected_version": str(state["version"]),
                }
                return urllib.parse.urlencode(form).encode()

            def saved(response: loadgen.Response) -> None:
                nonlocal saves_ok
                state["version"] += 1
                saves_ok += 1

            return loadgen.Request(
                kind="htmx save",
                method="POST",
                path=path,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": session.origin,
                    "HX-Request": "true",
                    "HX-Current-URL": session.origin + edits_url,
                    "X-CSRFToken": session.cookies["csrftoken"],
                },
                body=body,
                after=saved,
            )

        rounds = []
        for client in range(self.config.clients):
            requests = [loadgen.Request(kind="map editor", method="GET", path=editor)]
            if dashboard:
                requests.append(loadgen.Request(kind="dashboard", method="GET", path=dashboard))
            requests.append(save_request(client))
            # each client starts its round at another request, so every kind is in flight
            shift = client % len(requests)
            rounds.append(requests[shift:] + requests[:shift])

        await loadgen.drive(
            session, rounds, seconds=self.config.warmup, max_requests=self.config.max_requests
        )  # warm-up: each worker's first requests (imports, template compilation) not counted
        outcome = await self._measured_pass(session, rounds, server_pid, think=0.0)
        if self.config.think:
            outcome["with_think"] = await self._measured_pass(
                session, rounds, server_pid, think=self.config.think
            )
        outcome["_saves_ok"] = saves_ok
        return outcome

    async def _measured_pass(
        self, session: loadgen.Session, rounds: list, server_pid: int, *, think: float
    ) -> dict[str, Any]:
        server_cpu = _process_tree_cpu(server_pid)
        client_cpu = _own_cpu()
        load_before = os.getloadavg()[0]
        results, elapsed = await loadgen.drive(
            session,
            rounds,
            seconds=self.config.seconds,
            max_requests=self.config.max_requests,
            think=think,
        )
        server_cpu = _process_tree_cpu(server_pid) - server_cpu
        client_cpu = _own_cpu() - client_cpu
        kinds = {kind: result.summary(elapsed) for kind, result in results.items()}
        requests = sum(kind["requests"] for kind in kinds.values())
        errors = sum(kind["errors"] for kind in kinds.values())
        samples = {kind: r.error_samples for kind, r in results.items() if r.error_samples}
        return {
            "profile": _profile_label(think),
            "think_ms": round(think * 1000),
            "seconds": round(elapsed, 2),
            "pages": kinds,
            "requests": requests,
            "rps": round(requests / elapsed, 1),
            "errors": errors,
            "error_samples": samples,
            "server_cpu_s": round(server_cpu, 2),
            "server_cpu_ms_per_request": round(server_cpu / requests * 1000, 1)
            if requests
            else None,
            "client_cpu_s": round(client_cpu, 2),
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
        }

    # -- the whole run --------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        config = self.config
        started = time.perf_counter()
        load_start = os.getloadavg()
        phases = config.phases
        self.prepare(reset="import" in phases)
        previous = _previous_result(config.output) if "import" not in phases else None
        self.result = result = {
            "machine": machine(self.database),
            "config": {
                **asdict(config),
                "workdir": str(config.workdir),
                "output": str(config.output),
            },
            "load_average_start": [round(value, 2) for value in load_start],
            "targets": TARGETS,
            "import": [],
            "metrics": [],
            "pages": None,
            "notes": self.notes,
        }
        maps = {
            size: self.make_map(f"Bench journey {size:,}", journey_document())
            for size in config.sizes
        }
        edits = self.make_map("Bench edits", edits_document(config.clients))
        for phase, key in (("import", "import"), ("metrics", "metrics"), ("pages", "pages")):
            if phase not in phases and previous and previous.get(key):
                result[key] = previous[key]
                self.notes.append(
                    f"{phase} figures are those of the run of {previous['machine']['date']} "
                    "(this run reused its database)."
                )
        if "import" in phases:
            for size in config.sizes:
                print(f"· generating and importing {size:,} events", flush=True)
                result["import"].append(self.import_events(size, maps[size]))
                print(f"  {_import_line(result['import'][-1])}", flush=True)
        if "metrics" in phases:
            for size in config.sizes:
                print(f"· metrics over {size:,} events", flush=True)
                result["metrics"].append(self.time_metrics(size, maps[size]))
        if "pages" in phases:
            pages_size = PAGES_SIZE if PAGES_SIZE in config.sizes else max(config.sizes)
            print(f"· pages under load with {pages_size:,} events", flush=True)
            result["pages"] = self.serve_and_load(pages_size, maps[pages_size], edits)
        result["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
        result["total_s"] = round(time.perf_counter() - started, 1)
        return result


def _previous_result(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())
    return None


# -- the map measured: 6 stages, 20 touchpoint rules, one persona ----------------------------------


def _rule(combinator: str, *conditions: tuple[str, str, Any]) -> dict[str, Any]:
    return {combinator: [{"field": f, "op": op, "value": value} for f, op, value in conditions]}


def _touchpoint(name: str, channel: str, rule: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "channel": channel, "rule": rule}


VIEW = ("event", "equals", "view")
PURCHASE = ("event", "equals", "purchase")
STAGES = [
    (
        "Awareness",
        "awareness",
        [
            _touchpoint(
                "Smartphone pages",
                "website",
                _rule("all", VIEW, ("category_code", "starts_with", "electronics.smartphone")),
            ),
            _touchpoint(
                "Audio and TV pages",
                "website",
                _rule("all", VIEW, ("category_code", "regex", r"^electronics\.(audio|video)")),
            ),
            _touchpoint(
                "Computer pages",
                "website",
                _rule("all", VIEW, ("category_code", "starts_with", "computers")),
            ),
            _touchpoint(
                "Uncategorised pages",
                "website",
                _rule("all", VIEW, ("category_code", "equals", "")),
            ),
        ],
    ),
    (
        "Consideration",
        "consideration",
        [
            _touchpoint("Big-ticket views", "website", _rule("all", VIEW, ("price", "gt", 300))),
            _touchpoint(
                "Premium brands",
                "website",
                _rule("all", VIEW, ("brand", "in", ["samsung", "apple"])),
            ),
            _touchpoint(
                "Appliances",
                "website",
                _rule("all", VIEW, ("category_code", "starts_with", "appliances")),
            ),
            _touchpoint(
                "Apparel and sport",
                "website",
                _rule(
                    "any",
                    ("category_code", "starts_with", "apparel"),
                    ("category_code", "starts_with", "sport"),
                ),
            ),
        ],
    ),
    (
        "Decision",
        "decision",
        [
            _touchpoint("Add to cart", "website", _rule("all", ("event", "equals", "cart"))),
            _touchpoint(
                "Removed from cart",
                "website",
                _rule("all", ("event", "equals", "remove_from_cart")),
            ),
            _touchpoint(
                "Premium cart",
                "website",
                _rule(
                    "all",
                    ("event", "equals", "cart"),
                    ("brand", "in", ["apple", "samsung", "sony"]),
                ),
            ),
        ],
    ),
    (
        "Purchase",
        "purchase",
        [
            _touchpoint("Checkout", "website", _rule("all", PURCHASE)),
            _touchpoint(
                "Orders over 100", "website", _rule("all", PURCHASE, ("revenue", "gt", 100))
            ),
            _touchpoint(
                "Electronics orders",
                "website",
                _rule("all", PURCHASE, ("category_code", "contains", "electronics")),
            ),
        ],
    ),
    (
        "Retention",
        "retention",
        [
            _touchpoint(
                "Accessories bought",
                "email",
                _rule("all", PURCHASE, ("category_code", "contains", "accessories")),
            ),
            _touchpoint(
                "Furniture carts and orders",
                "email",
                _rule(
                    "all",
                    ("event", "in", ["cart", "purchase"]),
                    ("category_code", "starts_with", "furniture"),
                ),
            ),
            _touchpoint(
                "Kids and toys",
                "email",
                _rule("all", PURCHASE, ("category_code", "starts_with", "kids")),
            ),
        ],
    ),
    (
        "Advocacy",
        "advocacy",
        [
            _touchpoint("Reviews", "word_of_mouth", _rule("all", ("event", "equals", "review"))),
            _touchpoint(
                "Budget-brand buyers",
                "social",
                _rule("all", PURCHASE, ("brand", "in", ["xiaomi", "redmond", "artel"])),
            ),
            _touchpoint("Small buys", "social", _rule("all", PURCHASE, ("price", "lt", 20))),
        ],
    ),
]
RULES = sum(len(touchpoints) for _, _, touchpoints in STAGES)


def journey_document() -> dict[str, Any]:
    """The measured map as a journeymap/v1 document: KPIs, pain points and opportunities too."""
    stages = []
    for position, (name, kind, touchpoints) in enumerate(STAGES):
        stages.append(
            {
                "name": name,
                "kind": kind,
                "customer_goal": f"Get through {name.lower()} without friction.",
                "emotion": [1, 0, -1, 1, 0, 2][position],
                "kpis": [
                    {"metric": "users", "target": 1000, "direction": "higher"},
                    {"metric": "conversion_rate", "target": 0.3, "direction": "higher"},
                ],
                "touchpoints": touchpoints,
                "pain_points": [
                    {
                        "title": f"{name}: slow pages",
                        "severity": 3,
                        "touchpoint": touchpoints[0]["name"],
                    }
                ],
                "opportunities": [
                    {
                        "title": f"{name}: faster pages",
                        "impact": 4,
                        "effort": 2,
                        "pain_point": f"{name}: slow pages",
                    }
                ],
            }
        )
    return {
        "schema": "journeymap/v1",
        "name": "Bench journey",
        "conversion_window_days": 30,
        "personas": [
            {
                "name": PERSONA,
                "summary": "Buys the expensive models.",
                "segment": _rule("any", ("price", "gt", 500), ("brand", "equals", "apple")),
            }
        ],
        "stages": stages,
    }


def edits_document(clients: int) -> dict[str, Any]:
    """A map with one stage per client: each client saves its own stage, so no save is stale."""
    return {
        "schema": "journeymap/v1",
        "name": "Bench edits",
        "stages": [{"name": f"Client {client + 1}"} for client in range(clients)],
    }


# -- helpers ------------------------------------------------------------------------------------


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql)


def _database_version(vendor: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return "PostgreSQL " + cursor.fetchone()[0].split()[0]
        cursor.execute("SELECT sqlite_version()")
        return "SQLite " + cursor.fetchone()[0]


def machine(database: dict[str, str]) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=BASE_DIR, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "database": database.get("version", database["vendor"]),
        "os": platform.platform(terse=True),
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "commit": commit,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped at start (exit {server.returncode}).")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port} within {timeout} s.")


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (gunicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending += [int(child) for child in children]
    return total


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the table -----------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok " if ok else "MISS"


def _import_line(row: dict[str, Any]) -> str:
    return (
        f"{row['rows']:>10,}  {row['file_mb']:>8.1f}  {row['wall_s']:>7.1f}  {row['cpu_s']:>7.1f}"
        f"  {row['rows_per_s']:>9,}  {row['rows_per_cpu_s']:>9,}  {row['peak_rss_mb']:>7,}"
        f"  {row['load_before']:>4.1f}→{row['load_after']:<4.1f}"
    )


def table(result: dict[str, Any]) -> str:
    """The figures as one text table, each with its DESIGN §10 target."""
    m = result["machine"]
    lines = [
        f"Journeymap benchmark · {m['database']} · {m['cpu']}, {m['cores']} cores, "
        f"{m['ram_gb']} GB RAM · Python {m['python']} · {m['date']} · {m['commit']}",
        f"load average at start {result['load_average_start']}, at end "
        f"{result.get('load_average_end')} (other processes share these cores)",
        "",
        "Import (manage.py import_analytics, the whole process; target ≥ 100,000 rows/s, "
        "peak RSS < 1 GB)",
        "      rows   file MB   wall s    CPU s     rows/s  rows/CPU s  RSS MB  load      target",
    ]
    for row in result["import"]:
        ok = (
            row["rows_per_s"] >= TARGETS["import_rows_per_s"]
            and row["peak_rss_mb"] < TARGETS["import_peak_rss_mb"]
        )
        lines.append(f"{_import_line(row)}  {_mark(ok)}")
    lines += [
        "",
        f"Metrics (compute_metrics, {RULES} rules on 6 stages, best of "
        f"{result['config']['repeat']}; target < 5 s at 1,000,000 events)",
        "    events    users   all users s (CPU)   persona s (CPU)   RSS MB  load      target",
    ]
    for row in result["metrics"]:
        ok = row["all_users_s"] < TARGETS["metrics_s"] and row["persona_s"] < TARGETS["metrics_s"]
        lines.append(
            f"{row['events']:>10,}  {row['users']:>7,}   {row['all_users_s']:>7.2f} "
            f"({row['all_users_cpu_s']:>5.2f})     {row['persona_s']:>6.2f} "
            f"({row['persona_cpu_s']:>5.2f})  {row['peak_rss_mb']:>7,}  "
            f"{row['load_before']:>4.1f}→{row['load_after']:<4.1f}  {_mark(ok)}"
        )
    pages = result["pages"]
    if pages:
        lines += [
            "",
            f"Pages (gunicorn, {pages['workers']} workers, {pages['events']:,} events; "
            "target p95 < 100 ms with 20 clients)",
        ]
        for measured in [pages, pages.get("with_think")]:
            if measured:
                lines += _pages_lines(measured, pages["clients"])
        lines.append(
            f"  figures materialised for the pages in {pages['materialise_s']} s "
            f"(CPU {pages['materialise_cpu_s']} s); saves stored {pages['saves_stored']} of "
            f"{pages['saves_answered_ok']} answered 200"
        )
    for note in result["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _profile_label(think: float) -> str:
    """How the clients of a load pass behave, as the table and the JSON name it."""
    if not think:
        return "closed loop: no pause between requests"
    return f"like people: a pause of {think:g} s (0.5–1.5×) after each response"


def _pages_lines(measured: dict[str, Any], clients: int) -> list[str]:
    pause = measured.get("profile") or _profile_label(measured["think_ms"] / 1000)
    lines = [
        f"  {clients} clients, {pause}, {measured['seconds']} s",
        "  page            requests    req/s   p50 ms   p95 ms   p99 ms  errors  target",
    ]
    for kind, row in measured["pages"].items():
        ok = (row["p95_ms"] or 0) < TARGETS["page_p95_ms"] and row["errors"] == 0
        lines.append(
            f"  {kind:<14} {row['requests']:>9,}  {row['rps']:>7.1f}  {row['p50_ms']:>7}  "
            f"{row['p95_ms']:>7}  {row['p99_ms']:>7}  {row['errors']:>6}  {_mark(ok)}"
        )
    lines.append(
        f"  all            {measured['requests']:>9,}  {measured['rps']:>7.1f}   errors "
        f"{measured['errors']}, server CPU {measured['server_cpu_ms_per_request']} ms/request, "
        f"load {measured['load_before']}→{measured['load_after']}"
    )
    return lines


def markdown(result: dict[str, Any]) -> str:
    """The figures of a result as Markdown tables (what README.md shows)."""
    m = result["machine"]
    lines = [
        f"{m['database']} · {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM · Python "
        f"{m['python']} · {m['date'][:10]} · load average {result['load_average_start'][0]} at "
        f"the start, {result.get('load_average_end', ['?'])[0]} at the end",
        "",
        "| import | wall s | CPU s | rows/s | peak RSS | load |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["import"]:
        lines.append(
            f"| {row['rows']:,} rows | {row['wall_s']} | {row['cpu_s']} | "
            f"**{row['rows_per_s']:,}** | {row['peak_rss_mb']} MB | {row['load_before']} |"
        )
    lines += [
        "",
        "| metrics (6 stages, 20 rules) | all users s | with the persona s | load |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in result["metrics"]:
        lines.append(
            f"| {row['events']:,} events | **{row['all_users_s']}** | {row['persona_s']} | "
            f"{row['load_before']} |"
        )
    pages = result["pages"]
    if pages:
        lines += [
            "",
            f"| pages, {pages['events']:,} events, {pages['workers']} gunicorn workers, "
            f"{pages['clients']} clients | pause | p50 ms | p95 ms | p99 ms | req/s | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for measured in [pages, pages.get("with_think")]:
            if not measured:
                continue
            pause = f"{measured['think_ms'] / 1000:g} s" if measured["think_ms"] else "none"
            for kind, row in measured["pages"].items():
                lines.append(
                    f"| {kind} | {pause} | {row['p50_ms']} | **{row['p95_ms']}** | "
                    f"{row['p99_ms']} | {row['rps']} | {row['errors']} |"
                )
        lines += [
            "",
            f"Server CPU per request: {pages['server_cpu_ms_per_request']} ms; the figures of the "
            f"map were materialised in {pages['materialise_s']} s.",
        ]
    return "\n".join(lines)


def parse_config(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="", help="comma-separated row counts")
    parser.add_argument("--quick", action="store_true", help="10,000 rows and 3 s of load")
    parser.add_argument("--workdir", type=Path, default=None, help="files, database, logs")
    parser.add_argument("--output", type=Path, default=None, help="the JSON result")
    parser.add_argument("--seconds", type=float, default=None, help="measured load time")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=None, help="metrics runs (best of)")
    parser.add_argument("--pg-database", default=None, help=f"default {PG_DATABASE}")
    parser.add_argument(
        "--phases",
        default="import,metrics,pages",
        help="what to measure; without import, the last run's database and figures are reused",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=None,
        help="a second load pass with this pause between a client's requests (0: none)",
    )
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    if arguments.sizes:
        sizes = [int(size.replace("_", "")) for size in arguments.sizes.split(",") if size]
    else:
        sizes = [QUICK_SIZE] if quick else list(SIZES)
    workdir = arguments.workdir or (
        Path(tempfile.mkdtemp(prefix="journeymap-bench-"))
        if quick
        else BASE_DIR / "bench" / ".data"
    )
    return Config(
        sizes=sizes,
        quick=quick,
        workdir=workdir.resolve(),
        output=(arguments.output or RESULTS / ("quick.json" if quick else "latest.json")).resolve(),
        seconds=arguments.seconds if arguments.seconds is not None else (3.0 if quick else 30.0),
        warmup=1.0 if quick else 5.0,
        clients=arguments.clients,
        workers=arguments.workers or (2 if quick else 4),
        max_requests=arguments.max_requests,
        repeat=arguments.repeat or (1 if quick else 3),
        pg_database=arguments.pg_database
        or (f"{PG_DATABASE}_quick_{os.getpid()}" if quick else PG_DATABASE),
        phases=[phase.strip() for phase in arguments.phases.split(",") if phase.strip()],
        think=(arguments.think_ms if arguments.think_ms is not None else (0 if quick else 1000))
        / 1000,
    )


def _exit_on_terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that `finally` stops the processes the bench started


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["--markdown"]:  # bench.run --markdown RESULT.json: tables for the README
        for path in arguments[1:]:
            print(markdown(json.loads(Path(path).read_text())) + "\n")
        return 0
    config = parse_config(argv)
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    bench = Bench(config)
    throwaway = config.quick and argv_workdir(argv) is None
    try:
        result = bench.run()
    except BaseException:
        if bench.result is not None:  # what was measured before the failure is kept
            partial = config.output.with_suffix(".partial.json")
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(bench.result, indent=2) + "\n")
            print(f"the figures measured so far are in {partial}", file=sys.stderr)
        raise
    finally:
        bench.cleanup()
        if throwaway:
            shutil.rmtree(config.workdir, ignore_errors=True)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    config.output.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(result))
    print(f"\nwritten to {config.output}")
    passes = [result["pages"] or {}, (result["pages"] or {}).get("with_think") or {}]
    return 0 if all(measured.get("errors", 0) == 0 for measured in passes) else 1


def argv_workdir(argv: list[str] | None) -> str | None:
    arguments = sys.argv[1:] if argv is None else argv
    return next((a for a in arguments if a == "--workdir" or a.startswith("--workdir=")), None)


if __name__ == "__main__":
    sys.exit(main())
