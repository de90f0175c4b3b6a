"""Fuzzing settings shared by the security tests, and a count of the bad inputs tried.

The example counts are small enough for every CI run; `JM_FUZZ_LONG=<n>` (e.g. 20) multiplies
them for a long run. The number of inputs each fuzzer tried is printed at the end of the run.
"""

import os
from collections import Counter

from hypothesis import HealthCheck, settings

from tests.journeymap.test_access import scene  # noqa: F401 (the access matrix's scene fixture)

LONG = int(os.environ.get("JM_FUZZ_LONG", "0") or 0)
TRIED: Counter[str] = Counter()


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for a fuzzer of `examples` inputs (times JM_FUZZ_LONG when set)."""
    return settings(
        max_examples=examples * max(1, LONG),
        deadline=None,
        database=None,  # no example database in the repository or the worktree
        derandomize=not LONG,  # CI tries the same inputs each run; a long run explores
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # the fixtures' rows are shared on purpose
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def tried(kind: str) -> None:
    """Count one input tried by the fuzzer of `kind`."""
    TRIED[kind] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if TRIED:
        terminalreporter.section("bad inputs tried")
        for kind, count in sorted(TRIED.items()):
            terminalreporter.write_line(f"{kind}: {count}")
        terminalreporter.write_line(f"total: {sum(TRIED.values())}")
