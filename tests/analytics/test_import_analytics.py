"""The `import_analytics` command (DESIGN §8): a summary, or a clear failure leaving nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from analytics.models import AggregateRow, Dataset, Event, SurveyResponse
from tests import factories

pytestmark = pytest.mark.django_db

LOG = (
    "event_time,event_type,product_id,price,user_id,user_session\n"
    "2019-10-01 00:00:00 UTC,view,1,35.79,u1,s1\n"
    "2019-10-01 00:01:00 UTC,purchase,1,35.79,u1,s1\n"
    "not a time,view,1,35.79,u2,s2\n"
    "2019-10-31 23:59:59 UTC,view,2,10.00,u2,s2\n"
)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_analytics", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "2019-Oct.csv"
    path.write_text(LOG)
    return path


def test_prints_rows_imported_rejected_span_and_the_error_report(workspace, log_file):
    output = run(str(log_file), "--workspace", workspace.slug)

    dataset = Dataset.objects.get()
    assert dataset.name == "2019-Oct.csv"
    assert f"Imported 3 rows into dataset {dataset.pk} ('2019-Oct.csv'" in output
    assert f"Rejected 1 rows; error report: {dataset.error_report.path}" in output
    assert "Span: 2019-10-01T00:00:00Z to 2019-10-31T23:59:59Z" in output
    assert "revenue counts only on purchase events" in output
    assert Event.objects.filter(revenue__gt=0).count() == 1


def test_name_attach_and_revenue_events(workspace, log_file):
    journey_map = factories.make_map(workspace, "Shop journey")

    output = run(
        str(log_file),
        "--workspace",
        workspace.slug,
        "--name",
        "October",
        "--revenue-events",
        "purchase,view",
        "--attach",
        journey_map.slug,
    )

    dataset = Dataset.objects.get(name="October")
    assert "Attached to map shop-journey." in output
    assert list(journey_map.datasets.all()) == [dataset]
    assert Event.objects.filter(dataset=dataset, revenue__gt=0).count() == 3


def test_map_overrides_the_proposed_mapping(workspace, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("when,what,who\n2024-01-01 10:00,signup,u1\n")

    run(
        str(path),
        "--workspace",
        workspace.slug,
        "--map",
        "when=timestamp",
        "--map",
        "what=event",
        "--map",
        "who=user_id",
    )

    event = Event.objects.get()
    assert (event.event, event.user_id) == ("signup", "u1")


def test_a_mapping_that_cannot_work_fails_and_leaves_nothing(workspace, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("when,what,who\n2024-01-01 10:00,signup,u1\n")

    with pytest.raises(CommandError, match="No column is mapped to timestamp or event"):
        run(str(path), "--workspace", workspace.slug)
    assert Dataset.objects.count() == 0


def test_a_hopeless_file_fails_with_what_to_fix(workspace, tmp_path):
    path = tmp_path / "page.csv"
    path.write_text("<!doctype html><html><body>Log in</body></html>")

    with pytest.raises(CommandError, match=r"page.csv: This is a web page \(HTML\)"):
        run(str(path), "--workspace", workspace.slug)
    assert Dataset.objects.count() == 0


def test_a_file_whose_rows_are_all_bad_fails_showing_the_first_problems(workspace, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,event,user_id\nsoon,a,u1\nlater,b,u2\n")

    with pytest.raises(CommandError) as failure:
        run(str(path), "--workspace", workspace.slug)

    message = str(failure.value)
    assert "None of the 2 rows could be imported" in message
    assert "2,timestamp,soon,unparseable timestamp" in message
    assert Dataset.objects.count() == 0


def test_the_same_file_twice_is_a_no_op(workspace, log_file):
    run(str(log_file), "--workspace", workspace.slug)

    output = run(str(log_file), "--workspace", workspace.slug)

    assert "was already imported as dataset" in output
    assert "nothing to do" in output
    assert Dataset.objects.count() == 1
    assert Event.objects.count() == 3


def test_format_survey_and_ga4(workspace, tmp_path):
    survey = tmp_path / "nps.csv"
    survey.write_text("score,comment\n10,great\n3,slow\n")
    report = tmp_path / "report.csv"
    report.write_text("Session source / medium,Sessions\ngoogle / organic,120\n")

    run(str(survey), "--workspace", workspace.slug, "--format", "survey")
    run(str(report), "--workspace", workspace.slug, "--format", "ga4")

    assert sorted(SurveyResponse.objects.values_list("score", flat=True)) == [3, 10]
    row = AggregateRow.objects.get()
    assert row.dimensions == {
        "source": "google",
        "medium": "organic",
        "source_medium": "google / organic",
    }
    assert row.metrics == {"sessions": 120.0}


def test_unknown_workspace_map_and_bad_map_option(workspace, log_file):
    with pytest.raises(CommandError, match="No workspace 'nope'"):
        run(str(log_file), "--workspace", "nope")
    with pytest.raises(CommandError, match="No map 'nope'"):
        run(str(log_file), "--workspace", workspace.slug, "--attach", "nope")
    with pytest.raises(CommandError, match="write COL=FIELD"):
        run(str(log_file), "--workspace", workspace.slug, "--map", "price")
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(log_file) + ".missing", "--workspace", workspace.slug)
    assert Dataset.objects.count() == 0
