"""Timings taken inside a Django process of their own (bench/run.py starts one per measurement).

    python -m bench.probe metrics MAP_ID [--persona NAME] [--repeat 3]
    python -m bench.probe materialise MAP_ID

Each prints one JSON object on its last line: the wall and CPU seconds of every run, the best run,
and what was computed (events, stages), so the parent reads figures, not logs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any


def _clock() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def _timed(work: Any) -> tuple[Any, float, float]:
    wall, cpu = _clock()
    result = work()
    after_wall, after_cpu = _clock()
    return result, after_wall - wall, after_cpu - cpu


def metrics(map_id: int, persona_name: str | None, repeat: int) -> dict[str, Any]:
    """compute_metrics of the map (for one persona, if named) `repeat` times."""
    from analytics.engine import compute_metrics
    from journeymap.models import JourneyMap
    from personas.models import Persona

    journey_map = JourneyMap.objects.get(pk=map_id)
    persona = None
    if persona_name:
        persona = Persona.objects.get(workspace=journey_map.workspace, name=persona_name)
    runs = []
    figures: dict[str, Any] = {}
    for _ in range(repeat):
        figures, wall, cpu = _timed(
            lambda: compute_metrics(journey_map=journey_map, persona=persona)
        )
        runs.append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
    best = min(runs, key=lambda run: run["wall_s"])
    return {
        "runs": runs,
        "best_wall_s": best["wall_s"],
        "best_cpu_s": best["cpu_s"],
        "events": figures["totals"]["events"],
        "users": figures["totals"]["users"],
        "stages": len(figures["stages"]),
        "funnel_users": [stage["funnel_users"] for stage in figures["stages"]],
    }


def materialise(map_id: int) -> dict[str, Any]:
    """The recompute task's work for the map: every figure the pages read, stored."""
    from analytics.materialise import metrics_recompute, request_recompute

    request_recompute(journey_map=map_id)
    outcome, wall, cpu = _timed(lambda: metrics_recompute(map_id=map_id))
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "status": str(outcome["status"])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["metrics", "materialise"])
    parser.add_argument("map_id", type=int)
    parser.add_argument("--persona", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "journeymap.settings")
    import django

    django.setup()
    if arguments.what == "metrics":
        result = metrics(arguments.map_id, arguments.persona, arguments.repeat)
    else:
        result = materialise(arguments.map_id)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
