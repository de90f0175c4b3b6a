"""The rule builder: live counts of what a rule matches, the same as the engine's evaluation."""

import html
import json
import re

import numpy as np
import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from analytics import rulepreview
from analytics.loading import load_events
from analytics.rules import rule_fields, rule_mask
from tests import factories
from tests.analytics.figures_data import equals, make_shop
from touchpoints.models import Touchpoint

HTMX = {"HX-Request": "true"}
CART_OR_PURCHASE_ON_FREE = {
    "all": [
        {"field": "event", "op": "in", "value": ["add_to_cart", "purchase"]},
        {"field": "plan", "op": "equals", "value": "free"},
    ]
}


@pytest.fixture
def shop(workspace):
    return make_shop(workspace)


def preview_url(shop) -> str:
    return reverse("rule_preview", args=[shop.journey_map.workspace.slug, shop.journey_map.slug])


def post_rule(client, url, rule, field="rule"):
    text = rule if isinstance(rule, str) else json.dumps(rule)
    return client.post(url, {field: text, "rule_field": field}, headers=HTMX)


def counts(response) -> tuple[int, int]:
    page = response.content.decode()
    rows = re.search(r'data-rows="(\d+)"', page)
    users = re.search(r'data-users="(\d+)"', page)
    assert rows and users, page
    return int(rows.group(1)), int(users.group(1))


def direct(journey_map, rule) -> tuple[int, int]:
    """The engine's own evaluation of the rule over every event of the map."""
    events = load_events(journey_map=journey_map, start=None, end=None, fields=rule_fields(rule))
    mask = rule_mask(rule, events.fields)
    return int(mask.sum()), int(np.unique(events.users[mask]).size)


@pytest.mark.parametrize(
    "rule",
    [
        CART_OR_PURCHASE_ON_FREE,
        equals("event", "purchase"),
        {
            "any": [
                {"field": "revenue", "op": "gt", "value": 40},
                equals("device", "MOBILE")["all"][0],
            ]
        },
        {"all": [{"field": "timestamp", "op": "lt", "value": "2024-02-01"}]},
        {"all": [{"field": "page", "op": "regex", "value": "^/c"}]},
        {"all": []},
        {"any": []},
    ],
)
def test_the_counts_are_the_engines_evaluation(ws_editor_client, shop, rule) -> None:
    response = post_rule(ws_editor_client, preview_url(shop), rule)

    assert response.status_code == 200
    assert counts(response) == direct(shop.journey_map, rule)


def test_the_counts_of_an_example(ws_editor_client, shop) -> None:
    response = post_rule(ws_editor_client, preview_url(shop), CART_OR_PURCHASE_ON_FREE)

    # Free plan: visitors not divisible by 3 (26): 26 cart events, and 6 of them bought.
    assert counts(response) == (32, 26)
    assertContains(response, "of 76 events")


def test_a_sample_of_ten_matching_rows_is_shown(ws_editor_client, shop) -> None:
    response = post_rule(ws_editor_client, preview_url(shop), CART_OR_PURCHASE_ON_FREE)

    table = re.search(r"<table class=\"rb-sample\">.*?</table>", response.content.decode(), re.S)
    assert table
    header = re.findall(r"<th scope=\"col\">(.*?)</th>", table.group(0))
    assert header == [
        "timestamp",
        "event",
        "user_id",
        "session_id",
        "page",
        "channel",
        "revenue",
        "plan",
    ]
    rows = re.findall(r"<tr><td>", table.group(0))
    assert len(rows) == 10
    assert "free" in table.group(0) and "pro" not in table.group(0)
    assert "2024-03-17 10:00:00" in table.group(0)  # the last imported first: visitor 38's cart


def test_a_bad_rule_is_refused_with_its_path(ws_editor_client, shop) -> None:
    response = post_rule(
        ws_editor_client,
        preview_url(shop),
        {
            "all": [
                {"field": "event", "op": "equals", "value": "view"},
                {"field": "event", "op": "like", "value": "x"},
            ]
        },
    )

    assert response.status_code == 422
    assertContains(response, "rule.all[1].op: unknown operator &#x27;like&#x27;", status_code=422)
    assertContains(response, 'role="alert"', status_code=422)


def test_a_regex_that_does_not_compile_is_refused(ws_editor_client, shop) -> None:
    response = post_rule(
        ws_editor_client,
        preview_url(shop),
        {"all": [{"field": "page", "op": "regex", "value": "("}]},
    )

    assert response.status_code == 422
    assertContains(
        response, "rule.all[0].value: is not a valid regular expression", status_code=422
    )


def test_json_that_does_not_parse_is_refused(ws_editor_client, shop) -> None:
    response = post_rule(ws_editor_client, preview_url(shop), '{"all": [')

    assert response.status_code == 422
    assertContains(response, "rule: not valid JSON", status_code=422)


def test_no_rule_is_not_measured(ws_editor_client, shop) -> None:
    response = post_rule(ws_editor_client, preview_url(shop), "")

    assertContains(response, "No rule: this touchpoint is not measured.")


def test_a_map_without_event_data_says_so(ws_editor_client, workspace) -> None:
    shop = make_shop(workspace, with_data=False)

    response = post_rule(ws_editor_client, preview_url(shop), equals("event", "purchase"))

    assertContains(response, "No event dataset feeds this map yet")


def test_over_many_rows_only_the_latest_are_counted_and_the_page_says_so(
    ws_editor_client, shop, monkeypatch
) -> None:
    monkeypatch.setattr(rulepreview, "PREVIEW_ROWS", 20)

    response = post_rule(ws_editor_client, preview_url(shop), equals("event", "page_view"))

    assertContains(response, "among the 20 last imported of 76 events")
    # The 20 latest rows: visitors 29 to 39 (11 page views) with their carts and purchases.
    assert counts(response) == (11, 11)


@pytest.mark.parametrize(("who", "status"), [("ws_viewer_client", 403), ("outsider_client", 404)])
def test_only_editors_of_the_workspace_use_the_builder(request, shop, who, status) -> None:
    client = request.getfixturevalue(who)

    response = post_rule(client, preview_url(shop), equals("event", "purchase"))

    assert response.status_code == status


def test_an_anonymous_visitor_is_sent_to_log_in(client, shop) -> None:
    response = post_rule(client, preview_url(shop), equals("event", "purchase"))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_builder_does_not_answer_a_get(ws_editor_client, shop) -> None:
    assert ws_editor_client.get(preview_url(shop)).status_code == 405


# --- persona segments -----------------------------------------------------------------------


def segment_url(persona) -> str:
    return reverse("segment_preview", args=[persona.workspace.slug, persona.pk])


def test_a_segment_counts_the_users_of_the_workspaces_events(ws_editor_client, shop) -> None:
    rule = equals("device", "mobile")

    response = post_rule(ws_editor_client, segment_url(shop.mobile), rule, field="segment")

    # 20 odd visitors: 20 page views and 13 carts (none of them buys).
    assert counts(response) == direct(shop.journey_map, rule) == (33, 20)


def test_an_empty_segment_is_every_user(ws_editor_client, shop) -> None:
    response = post_rule(ws_editor_client, segment_url(shop.mobile), "", field="segment")

    assertContains(response, "No rule: every user counts.")
    assert counts(response) == (76, 40)


def test_a_bad_segment_is_refused_with_its_path(ws_editor_client, shop) -> None:
    response = post_rule(
        ws_editor_client, segment_url(shop.mobile), {"all": [{"field": "device"}]}, field="segment"
    )

    assert response.status_code == 422
    assertContains(response, "segment.all[0].op: is required", status_code=422)


@pytest.mark.parametrize(("who", "status"), [("ws_viewer_client", 403), ("outsider_client", 404)])
def test_only_editors_of_the_workspace_preview_a_segment(request, shop, who, status) -> None:
    client = request.getfixturevalue(who)

    response = post_rule(client, segment_url(shop.mobile), equals("device", "mobile"), "segment")

    assert response.status_code == status


def test_a_persona_of_another_workspace_is_not_found(ws_editor_client, other_workspace) -> None:
    rival = factories.make_persona(other_workspace, "Rival persona")
    url = reverse("segment_preview", args=["acme", rival.pk])

    assert post_rule(ws_editor_client, url, "", field="segment").status_code == 404


# --- the builder in the forms ---------------------------------------------------------------


def test_the_touchpoint_form_holds_the_builder_over_its_json(ws_editor_client, shop) -> None:
    basket = Touchpoint.objects.get(stage=shop.cart)
    url = reverse("card_edit", args=["acme", "touchpoint", basket.pk])

    response = ws_editor_client.get(url, headers=HTMX)

    page = response.content.decode()
    builder = re.search(r"<div class=\"rule-builder\"[^>]*>", page, re.S).group(0)
    assert f'hx-post="{preview_url(shop)}"' in builder
    assert 'hx-trigger="load, change, keyup changed delay:400ms, rulebuilder:changed"' in builder
    fields = json.loads(html.unescape(re.search(r'data-fields="([^"]*)"', builder).group(1)))
    assert {"value": "event", "group": "canonical"} in fields
    assert {"value": "plan", "group": "extra"} in fields  # an extra property of the map's data
    operators = json.loads(html.unescape(re.search(r'data-operators="([^"]*)"', builder).group(1)))
    assert [op["value"] for op in operators][:3] == ["equals", "not_equals", "in"]
    # The JSON textarea is still the field saved, open for browsers without JavaScript.
    assert re.search(r'<details class="rb-json" data-rb-json open>', page)
    assertContains(response, 'name="rule"')
    assertContains(response, "add_to_cart")
    assertNotContains(response, "<script>")


def test_the_segment_form_holds_the_builder(ws_editor_client, shop) -> None:
    url = reverse("persona_section_edit", args=["acme", shop.mobile.pk, "segment"])

    response = ws_editor_client.get(url, headers=HTMX)

    assertContains(response, 'class="rule-builder"')
    assertContains(response, f'hx-post="{segment_url(shop.mobile)}"')
    assertContains(response, 'name="segment"')


def test_saving_a_rule_from_the_builder_stores_it(ws_editor_client, shop) -> None:
    basket = Touchpoint.objects.get(stage=shop.cart)
    url = reverse("card_edit", args=["acme", "touchpoint", basket.pk])

    response = ws_editor_client.post(
        url,
        {
            "name": "Basket",
            "channel": "website",
            "emotion": "0",
            "rule": json.dumps(CART_OR_PURCHASE_ON_FREE),
            "expected_version": basket.version,
        },
        headers=HTMX,
    )

    assert response.status_code == 200
    basket.refresh_from_db()
    assert basket.rule == CART_OR_PURCHASE_ON_FREE


# --- the drill-down (read-only, viewers too) ------------------------------------------------


def matches_url(touchpoint) -> str:
    return reverse("touchpoint_matches", args=["acme", touchpoint.pk])


def test_a_viewer_drills_down_to_the_rows_a_touchpoint_matches(ws_viewer_client, shop) -> None:
    checkout = Touchpoint.objects.get(stage=shop.purchase)

    response = ws_viewer_client.get(matches_url(checkout))

    assert response.status_code == 200
    assertContains(response, "Rows matching Checkout")
    assert counts(response) == direct(shop.journey_map, checkout.rule) == (10, 10)
    assertContains(response, "/checkout/done")


def test_the_drill_down_of_a_touchpoint_without_a_rule(ws_viewer_client, shop) -> None:
    reviews = Touchpoint.objects.get(stage=shop.advocacy)

    response = ws_viewer_client.get(matches_url(reviews))

    assertContains(response, "No rule: this touchpoint is not measured.")


def test_the_drill_down_is_not_found_elsewhere(
    outsider_client, ws_viewer_client, shop, other_workspace
) -> None:
    checkout = Touchpoint.objects.get(stage=shop.purchase)
    rival_stage = factories.make_stage(factories.make_map(other_workspace, "Rival"), "Rival")
    rival = factories.make_touchpoint(rival_stage, "Rival", rule=equals("event", "purchase"))

    assert outsider_client.get(matches_url(checkout)).status_code == 404
    assert ws_viewer_client.get(matches_url(rival)).status_code == 404


def test_the_map_links_each_measured_touchpoint_to_its_drill_down(ws_viewer_client, shop) -> None:
    response = ws_viewer_client.get(shop.journey_map.get_absolute_url())

    checkout = Touchpoint.objects.get(stage=shop.purchase)
    reviews = Touchpoint.objects.get(stage=shop.advocacy)
    assertContains(response, f'href="{matches_url(checkout)}"')
    assertNotContains(response, f'href="{matches_url(reviews)}"')
