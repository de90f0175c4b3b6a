"""The benchmark keeps working: its quick mode runs end to end and reports well-formed figures.

Only the shape and the counts are checked, never a timing: `make bench` reports figures, it does not
assert them (DESIGN §10).
"""

import json
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_the_quick_benchmark_reports_every_figure_without_errors(tmp_path):
    output = tmp_path / "result.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--workdir",
            str(tmp_path / "work"),
            "--output",
            str(output),
            "--think-ms",
            "200",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Import" in run.stdout and "Metrics" in run.stdout and "Pages" in run.stdout
    result = json.loads(output.read_text())

    machine = result["machine"]
    assert {"cpu", "cores", "ram_gb", "python", "database", "date"} <= machine.keys()
    assert machine["cores"] > 0

    [imported] = result["import"]
    assert imported["rows"] == 10_000 and imported["rejected"] == 0
    assert imported["rows_per_s"] > 0 and imported["cpu_s"] > 0 and imported["peak_rss_mb"] > 0

    [metrics] = result["metrics"]
    assert metrics["events"] == 10_000
    assert metrics["stages"] == 6 and metrics["rules"] == 20
    assert 0 < metrics["persona_users"] < metrics["users"]
    assert metrics["all_users_s"] > 0 and metrics["persona_s"] > 0

    pages = result["pages"]
    assert pages["errors"] == 0, pages["error_samples"]
    assert pages["events"] == 10_000 and pages["clients"] == 20
    assert {"map editor", "htmx save"} <= pages["pages"].keys()
    for figures in pages["pages"].values():
        assert figures["requests"] > 0 and figures["errors"] == 0
        assert figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
    # the second load profile, clients pausing like people, is reported beside the first
    assert pages["profile"] == "closed loop: no pause between requests" and pages["think_ms"] == 0
    paced = pages["with_think"]
    assert paced["think_ms"] == 200 and paced["profile"].startswith("like people: a pause of 0.2 s")
    assert paced["errors"] == 0, paced["error_samples"]
    assert {"map editor", "htmx save"} <= paced["pages"].keys()
    for figures in paced["pages"].values():
        assert figures["requests"] > 0 and figures["p50_ms"] <= figures["p95_ms"]
    assert "no pause between requests" in run.stdout and "a pause of 0.2 s" in run.stdout
    # every save answered 200 was stored, none lost
    assert pages["saves_stored"] == pages["saves_answered_ok"] > 0
