"""The map's figures in a real browser: a rule edited with the builder moves them, without a reload.

The recompute task runs within the request here (the immediate backend): these tests watch the
page, not a worker. The page learns of the change after the save, asks for the figures' status,
and swaps the new figures in out of band.
"""

import os
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from analytics.engine import compute_metrics
from analytics.models import MapMetrics
from stages.models import Stage
from tests.e2e.conftest import new_page
from tests.e2e.test_editor import assert_not_reloaded, mark_page
from touchpoints.models import Touchpoint


@pytest.fixture
def figures_demo(settings, live_server):
    """The demo map's URL, its figures computed as the demo was loaded (immediate tasks)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return f"{live_server.url}/w/demo/maps/ecommerce-journey/"


def users_of(stage: Stage) -> int:
    row = MapMetrics.objects.get(map=stage.map, persona=None)
    return row.figures["stages"][row.stage_ids.index(stage.pk)]["users"]


def test_editing_a_rule_with_the_builder_updates_the_stage_figures_in_place(
    browser, live_server, figures_demo
):
    advocacy = Stage.objects.get(map__slug="ecommerce-journey", name="Advocacy")
    reviews = next(
        touchpoint
        for touchpoint in Touchpoint.objects.filter(stage=advocacy)
        if touchpoint.rule == {"any": [{"field": "event", "op": "equals", "value": "review"}]}
    )
    before = users_of(advocacy)
    page = new_page(browser, live_server)
    page.goto(figures_demo)
    mark_page(page)
    figures = page.locator(f"#stage-{advocacy.pk}-figures")
    expect(figures).to_contain_text(f"{before:,} users")

    card = page.locator(f"#touchpoint-{reviews.pk}")
    card.get_by_role("link", name=reviews.name).click()
    value = card.get_by_label("Value of condition 1")
    expect(value).to_have_value("review")
    preview = card.locator(".rb-preview")
    expect(preview).to_contain_text("Matches")
    value.fill("purchase")
    expect(preview).to_contain_text(re.compile(r"Matches [\d,]+ rows? and [\d,]+ users?"))
    card.get_by_role("button", name="Save").click()

    expect(card.locator(".rule")).to_have_text("event equals purchase", timeout=30_000)
    reviews.refresh_from_db()
    assert reviews.rule == {"any": [{"field": "event", "op": "equals", "value": "purchase"}]}
    after = users_of(advocacy)
    assert after != before
    expect(figures).to_contain_text(f"{after:,} users", timeout=30_000)
    assert_not_reloaded(page)
    row = MapMetrics.objects.get(map=advocacy.map, persona=None)
    assert row.figures == compute_metrics(journey_map=advocacy.map)


def test_the_persona_switcher_redraws_the_figures_and_keeps_the_persona_in_the_url(
    browser, live_server, figures_demo
):
    journey_map = Stage.objects.get(map__slug="ecommerce-journey", name="Advocacy").map
    persona = journey_map.personas.get(name="Mobile-first Maya")
    awareness = journey_map.stages.get(name="Awareness")
    mobile = MapMetrics.objects.get(map=journey_map, persona=persona)
    users = mobile.figures["stages"][mobile.stage_ids.index(awareness.pk)]["users"]
    page = new_page(browser, live_server)
    page.goto(figures_demo)
    mark_page(page)

    page.get_by_label("Figures for").select_option(label=f"persona {persona.name}")

    expect(page.locator(f"#stage-{awareness.pk}-figures")).to_contain_text(f"{users:,} users")
    expect(page).to_have_url(re.compile(rf"\?persona={persona.pk}$"))
    expect(page.locator("#figures-status")).to_contain_text("this persona's users")
    assert_not_reloaded(page)
