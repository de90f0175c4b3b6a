"""Many clients editing the same stages and cards of one map lose no accepted change.

gunicorn with the production settings and several workers; 20 loopback clients (each its own editor
session) repeatedly edit the actions lane of the same two stages and the description of the same
three touchpoints, as the editor does: GET the form (which carries the version the client saw), then
POST the new text with that version. Every response is logged: 200 (accepted, the new version is
the one sent + 1) or 409 (refused as stale). At the end each object's stored text must be the text
of its last accepted save, and its version the initial one plus the number of accepted saves: an
accepted save that was overwritten without being refused would break one or the other.
JM_FAULTS_LONG=1 makes 2,000 saves instead of 200.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import urllib.parse
from collections import Counter
from dataclasses import dataclass

import pytest

from bench.loadgen import fetch
from tests.reliability.processes import (
    LONG,
    free_port,
    run_async,
    start,
    stop,
    wait_for_port,
)

CLIENTS = 20
SAVES_PER_CLIENT = 100 if LONG else 10
WORKERS = 4
# 20 first requests at once to cold workers on a loaded 2-core machine can take longer than 30 s; a
# request that times out is not a lost save, but it would end the client.
TIMEOUT = 180.0
VERSION_INPUT = re.compile(r'name="expected_version" value="(\d+)"')

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Target:
    """One object the clients fight over: its edit form, the field they change, its table."""

    kind: str
    pk: int
    path: str
    field: str
    fixed: tuple[tuple[str, str], ...]  # the form's other fields, sent unchanged


@dataclass(frozen=True)
class Save:
    target: Target
    status: int
    value: str
    version: int  # the version the client saw (and sent)


def _targets(setup: dict) -> list[Target]:
    targets = [
        Target("stage", s["pk"], f"/w/faults/stages/{s['pk']}/lane/actions/edit/", "actions", ())
        for s in setup["stages"]
    ]
    targets += [
        Target(
            "touchpoint",
            t["pk"],
            f"/w/faults/cards/touchpoint/{t['pk']}/edit/",
            "description",
            (("name", t["name"]), ("channel", "website"), ("owner", ""), ("emotion", "0")),
        )
        for t in setup["touchpoints"]
    ]
    return targets


async def _client(
    number: int, session: str, port: int, map_path: str, targets: list[Target], log: list[Save]
) -> None:
    rng = random.Random(number)
    cookies = {"sessionid": session}

    def headers(**extra: str) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        return {"Cookie": cookie, **extra}

    async def get(path: str, **extra: str):
        response = await fetch("127.0.0.1", port, "GET", path, headers(**extra), timeout=TIMEOUT)
        cookies.update(response.cookies())
        return response

    origin = f"http://127.0.0.1:{port}"
    for save in range(SAVES_PER_CLIENT):
        target = rng.choice(targets)
        form = await get(target.path, **{"HX-Request": "true"})  # it sets the CSRF cookie too
        assert form.status == 200, (form.status, target.path)
        version = int(VERSION_INPUT.search(form.body.decode()).group(1))
        await asyncio.sleep(rng.uniform(0, 0.02))  # someone typing: others save meanwhile
        value = f"Client {number} save {save} ({target.kind} {target.pk})"
        body = urllib.parse.urlencode(
            {**dict(target.fixed), target.field: value, "expected_version": str(version)}
        ).encode()
        response = await fetch(
            "127.0.0.1",
            port,
            "POST",
            target.path,
            headers(
                **{
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": origin,
                    "HX-Request": "true",
                    "HX-Current-URL": origin + map_path,
                    "X-CSRFToken": cookies["csrftoken"],
                }
            ),
            body,
            timeout=TIMEOUT,
        )
        log.append(Save(target, response.status, value, version))


async def _drive(setup: dict, port: int, targets: list[Target]) -> list[Save]:
    log: list[Save] = []
    await asyncio.gather(
        *(
            _client(number, session, port, setup["map"], targets, log)
            for number, session in enumerate(setup["sessions"])
        )
    )
    return log


def test_concurrent_saves_of_the_same_stages_and_cards_are_each_stored_or_refused_as_stale(
    shared_database, collected_static, tmp_path
):
    database = shared_database
    setup = database.scenario("edit-setup", str(CLIENTS))
    targets = _targets(setup)
    initial = {("stage", s["pk"]): s["version"] for s in setup["stages"]}
    initial |= {("touchpoint", t["pk"]): t["version"] for t in setup["touchpoints"]}

    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "journeymap.wsgi", "--workers", str(WORKERS)]
    server = start([*command, "--bind", f"127.0.0.1:{port}"], database.env(), log_path)
    try:
        wait_for_port(port, server, log_path)
        log = run_async(_drive(setup, port, targets))
    finally:
        stop(server)

    statuses = Counter(save.status for save in log)
    assert set(statuses) <= {200, 409}, (statuses, log_path.read_text()[-3000:])
    assert "database is locked" not in log_path.read_text()
    lost = 0
    for target in targets:
        table, column = {
            "stage": ("stages_stage", "actions"),
            "touchpoint": ("touchpoints_touchpoint", "description"),
        }[target.kind]
        stored_value, stored_version = database.query(
            f"SELECT {column}, version FROM {table} WHERE id = ?", (target.pk,)
        )[0]
        accepted = sorted(
            (save for save in log if save.target == target and save.status == 200),
            key=lambda save: save.version,
        )
        first = initial[(target.kind, target.pk)]
        # An accepted save is lost when the stored version does not count it, or when the stored
        # text is not the last accepted one (it was overwritten by a save that should have failed).
        lost += len(accepted) - (stored_version - first)
        lost += bool(accepted) and stored_value != accepted[-1].value
        # Each accepted save was made against the version the one before it produced.
        assert [save.version for save in accepted] == list(range(first, first + len(accepted)))
    made, refused = len(log), statuses[409]
    assert made == CLIENTS * SAVES_PER_CLIENT
    assert statuses[200] > 0 and refused > 0  # the clients really did collide
    assert lost == 0
    print(
        f"\nconcurrent edits ({database.vendor}, {CLIENTS} clients, {WORKERS} gunicorn workers, "
        f"{len(targets)} objects): {made} saves made, {statuses[200]} accepted, {refused} refused "
        f"as stale, {lost} lost"
    )
