"""The map editor in a real browser: edits happen in place, persist, and never overwrite others."""

import re
from pathlib import Path

from django.core.management import call_command
from playwright.sync_api import expect

from stages.models import Stage
from tests.e2e.conftest import new_page
from touchpoints.models import Touchpoint

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-editor.png"


def mark_page(page) -> None:
    """Leave a marker in the window: a full page load would wipe it."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


def test_add_a_stage_in_place(browser, live_server, demo):
    page = new_page(browser, live_server)
    page.goto(demo)
    mark_page(page)
    expect(page.locator(".stage-head")).to_have_count(5)

    page.get_by_role("button", name="+ Stage").click()

    expect(page.locator(".stage-head")).to_have_count(6)
    expect(page.locator(".stage-head").nth(5)).to_contain_text("New stage")
    assert_not_reloaded(page)
    assert Stage.objects.filter(map__slug="ecommerce-journey", name="New stage").exists()


def test_edit_a_touchpoint_in_place_and_it_persists(browser, live_server, demo):
    touchpoint = Touchpoint.objects.filter(stage__map__slug="ecommerce-journey").first()
    page = new_page(browser, live_server)
    page.goto(demo)
    mark_page(page)
    card = page.locator(f"#touchpoint-{touchpoint.pk}")

    card.get_by_role("link", name=touchpoint.name).click()
    name = card.get_by_label("Name")
    expect(name).to_be_focused()
    name.fill("Influencer videos")
    card.get_by_label("Owner").fill("Brand team")
    card.get_by_role("button", name="Save").click()

    expect(card.locator(".card-title")).to_have_text("Influencer videos")
    expect(card).to_contain_text("Owner: Brand team")
    assert_not_reloaded(page)
    page.reload()
    expect(page.locator(f"#touchpoint-{touchpoint.pk} .card-title")).to_have_text(
        "Influencer videos"
    )


def test_escape_cancels_an_edit(browser, live_server, demo):
    stage = Stage.objects.get(map__slug="ecommerce-journey", position=2)
    page = new_page(browser, live_server)
    page.goto(demo)
    cell = page.locator(f"#stage-{stage.pk}-thoughts")

    cell.get_by_role("link", name=re.compile("Edit thoughts")).click()
    cell.get_by_label("Thoughts").fill("This text is abandoned")
    page.keyboard.press("Escape")

    expect(cell.locator("form")).to_have_count(0)
    expect(cell).to_contain_text(stage.thoughts)
    stage.refresh_from_db()
    assert stage.thoughts != "This text is abandoned"


def test_drag_a_touchpoint_to_another_stage(browser, live_server, demo):
    awareness = Stage.objects.get(map__slug="ecommerce-journey", position=1)
    consideration = Stage.objects.get(map__slug="ecommerce-journey", position=2)
    moved = awareness.touchpoints.order_by("position").first()
    page = new_page(browser, live_server)
    page.goto(demo)
    mark_page(page)

    handle = page.locator(f"#touchpoint-{moved.pk} .drag-handle")
    target = page.locator(f"#cell-touchpoint-{consideration.pk} .tp-card").first
    with page.expect_response(lambda response: "/move/" in response.url) as moved_response:
        handle.drag_to(target)
    assert moved_response.value.status == 200

    in_target = f"#cell-touchpoint-{consideration.pk} #touchpoint-{moved.pk}"
    expect(page.locator(in_target)).to_be_visible()
    assert_not_reloaded(page)
    moved.refresh_from_db()
    assert moved.stage_id == consideration.pk
    assert list(consideration.touchpoints.values_list("position", flat=True)) == list(
        range(1, consideration.touchpoints.count() + 1)
    )
    page.reload()
    expect(page.locator(in_target)).to_be_visible()


def test_keyboard_move_buttons_move_a_touchpoint(browser, live_server, demo):
    awareness = Stage.objects.get(map__slug="ecommerce-journey", position=1)
    consideration = Stage.objects.get(map__slug="ecommerce-journey", position=2)
    moved = awareness.touchpoints.order_by("position").first()
    page = new_page(browser, live_server)
    page.goto(demo)

    button = page.get_by_role("button", name=f"Move {moved.name} to stage {consideration.name}")
    button.focus()
    with page.expect_response(lambda response: "/move/" in response.url):
        page.keyboard.press("Enter")

    in_target = f"#cell-touchpoint-{consideration.pk} #touchpoint-{moved.pk}"
    expect(page.locator(in_target)).to_be_visible()
    moved.refresh_from_db()
    assert moved.stage_id == consideration.pk


def test_choosing_an_emotion_level_moves_the_curve(browser, live_server, demo):
    stage = Stage.objects.get(map__slug="ecommerce-journey", position=3)
    assert stage.emotion != 2
    page = new_page(browser, live_server)
    page.goto(demo)
    mark_page(page)
    cell = page.locator(f"#stage-{stage.pk}-emotion")
    before = cell.locator("polyline").get_attribute("points")

    cell.get_by_role("button", name=re.compile(r"to \+2 very positive")).click()

    expect(page.locator(f"#stage-{stage.pk}-emotion .dot")).to_have_class(re.compile("level-2"))
    after = page.locator(f"#stage-{stage.pk}-emotion polyline").get_attribute("points")
    assert after != before
    assert "50,10" in after  # the middle of the stage's piece of the line is now at the top
    assert_not_reloaded(page)
    stage.refresh_from_db()
    assert stage.emotion == 2


def test_a_stale_save_from_a_second_tab_is_refused_visibly(browser, live_server, demo):
    touchpoint = Touchpoint.objects.filter(stage__map__slug="ecommerce-journey").first()
    first = new_page(browser, live_server)
    second = new_page(browser, live_server)
    for page in (first, second):
        page.goto(demo)
        page.locator(f"#touchpoint-{touchpoint.pk}").get_by_role(
            "link", name=touchpoint.name
        ).click()
        expect(page.locator(f"#touchpoint-{touchpoint.pk} form.editing")).to_be_visible()

    theirs = second.locator(f"#touchpoint-{touchpoint.pk}")
    theirs.get_by_label("Name").fill("Saved by the second tab")
    theirs.get_by_role("button", name="Save").click()
    expect(second.locator(f"#touchpoint-{touchpoint.pk} .card-title")).to_have_text(
        "Saved by the second tab"
    )

    card = first.locator(f"#touchpoint-{touchpoint.pk}")
    card.get_by_label("Name").fill("Typed in the first tab")
    card.get_by_role("button", name="Save").click()

    expect(card.locator(".stale")).to_contain_text("Someone else saved a change")
    expect(card.locator(".current")).to_contain_text("Saved by the second tab")
    expect(card.get_by_label("Name")).to_have_value("Typed in the first tab")
    touchpoint.refresh_from_db()
    assert touchpoint.name == "Saved by the second tab"


def test_a_viewer_sees_no_edit_controls(browser, live_server, demo):
    call_command("add_member", "demo", "victor", "--role", "viewer", "--password", "view-only-9")
    page = new_page(browser, live_server, "victor", "view-only-9")
    page.goto(demo)

    expect(page.locator(".stage-head")).to_have_count(5)
    expect(page.get_by_role("button", name="+ Stage")).to_have_count(0)
    expect(page.locator(".tools")).to_have_count(0)
    expect(page.locator("[hx-post]")).to_have_count(0)
    expect(page.locator(".levels")).to_have_count(0)
    expect(page.get_by_text("+ Add touchpoint")).to_have_count(0)


def test_screenshot_of_the_demo_map(browser, live_server, demo):
    page = new_page(browser, live_server)
    page.goto(demo)
    expect(page.locator(".stage-head")).to_have_count(5)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    assert SCREENSHOT.stat().st_size > 10_000
