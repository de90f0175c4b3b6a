import csv
import io

import pytest

from journeymap.exports import safe_cell
from tests import factories


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Plain text", "Plain text"),
        (-2, -2),
        (None, None),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, written):
    assert safe_cell(value) == written


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_cards_csv_lists_every_card_in_map_order_with_formulas_neutralised(
    workspace, ws_viewer_client
):
    journey_map = factories.make_map(workspace, "Journey")
    first = factories.make_stage(journey_map, "Awareness", customer_goal="Find us")
    second = factories.make_stage(journey_map, "Purchase")
    touchpoint = factories.make_touchpoint(first, "=cmd|' /C calc'!A0", channel="ads", owner="Ads")
    factories.make_pain_point(first, "Slow", severity=5, touchpoint=touchpoint)
    factories.make_opportunity(second, "@Faster checkout", impact=4, effort=2)
    factories.make_kpi(second, "orders", target=300)

    response = ws_viewer_client.get(f"/w/acme/maps/{journey_map.slug}/cards.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="journey-cards.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert [(row["stage"], row["lane"]) for row in rows] == [
        ("Awareness", "stage"),
        ("Awareness", "touchpoint"),
        ("Awareness", "pain_point"),
        ("Purchase", "stage"),
        ("Purchase", "opportunity"),
        ("Purchase", "kpi"),
    ]
    assert rows[1]["title"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["channel"] == "ads"
    assert rows[2]["severity"] == "5"
    assert rows[2]["details"].startswith("at: ")
    assert rows[4]["title"] == "'@Faster checkout"
    assert rows[5]["metric_target"] == "300.0"


def test_cards_csv_of_another_workspace_is_not_found(other_workspace, ws_viewer_client):
    journey_map = factories.make_map(other_workspace, "Secret")
    assert ws_viewer_client.get(f"/w/acme/maps/{journey_map.slug}/cards.csv").status_code == 404
    assert ws_viewer_client.get(f"/w/rival/maps/{journey_map.slug}/cards.csv").status_code == 404
