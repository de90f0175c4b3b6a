"""Exported CSV is formula-safe whatever users typed: the cards CSV, the dashboard CSV (and the
import error report, in test_fuzz_csv.py). No cell starts with = + - @ tab or carriage return,
and every text comes back whole (with the leading ' a spreadsheet hides)."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from analytics.dashboard import Breakdown, Dashboard, dashboard_csv
from journeymap.exports import FORMULA_PREFIXES, map_cards_csv
from tests import factories
from tests.security.conftest import fuzz_settings, tried

typed = (
    st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")']),
        st.tuples(st.sampled_from(FORMULA_PREFIXES), st.text(max_size=20)).map("".join),
    )
    .map(lambda text: text.replace("\x00", ""))
    .filter(lambda text: text.strip())
)


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_formula_safe(exported: str, typed_texts: list[str]) -> None:
    found = cells(exported)
    assert not [cell for cell in found if cell.startswith(FORMULA_PREFIXES)]
    for text in typed_texts:
        shown = "'" + text if text.startswith(FORMULA_PREFIXES) else text
        assert any(shown in cell for cell in found), text


@fuzz_settings(25)
@given(name=typed, owner=typed, title=typed)
def test_the_cards_csv(workspace, name: str, owner: str, title: str) -> None:
    tried("export: cards CSV")
    journey_map = factories.make_map(workspace)
    stage = factories.make_stage(journey_map, name=name[:100])
    factories.make_touchpoint(stage, name[:200], owner=owner[:100])
    factories.make_pain_point(stage, title[:200])

    assert_formula_safe(map_cards_csv(journey_map), [name[:100], owner[:100], title[:200]])


@fuzz_settings(25)
@given(names=st.lists(typed, min_size=1, max_size=3), week=typed)
def test_the_dashboard_csv(names: list[str], week: str) -> None:
    """The stored figures carry the stage names as they were when computed: built here directly
    (computing them needs an import), the way load_dashboard hands them to dashboard_csv."""
    tried("export: dashboard CSV")
    stages = [{"position": i, "name": name, "users": 3} for i, name in enumerate(names, 1)]
    figures = {"totals": {"users": 3}, "stages": stages}
    by_device = {
        "values": names,
        "stages": [{**entry, "users": [1] * len(names)} for entry in stages],
    }
    dashboard = Dashboard(
        map_figures=None,
        personas=[],
        cards=[],
        figures=figures,
        previous=figures,
        breakdowns=[Breakdown(key="device", heading="", title="", data=by_device)],
        weekly=[{"week": week, "stages": [{**entry, "measured": True} for entry in stages]}],
    )

    assert_formula_safe(dashboard_csv(dashboard), [*names, week])
