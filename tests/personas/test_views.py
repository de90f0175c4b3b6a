import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from journeymap.models import JourneyMap
from journeymap.versioning import StaleEdit
from personas import services
from personas.models import Persona
from tests import factories
from tests.personas.images import image_bytes, noise_png, upload


def url(name: str, persona: Persona | None = None, workspace: str = "acme", **kwargs) -> str:
    if persona is not None:
        kwargs["pk"] = persona.pk
    return reverse(name, kwargs={"workspace": workspace, **kwargs})


def edit_url(persona: Persona, section: str) -> str:
    return url("persona_section_edit", persona, section=section)


def htmx(persona: Persona, section: str) -> dict[str, str]:
    """The headers htmx sends for a request from a persona page's section."""
    return {
        "HX-Request": "true",
        "HX-Target": f"section-{section}",
        "HX-Current-URL": f"http://testserver{url('persona_detail', persona)}",
    }


@pytest.fixture
def persona(workspace):
    return factories.make_persona(
        workspace,
        "Bargain hunter",
        summary="Compares prices everywhere before buying.",
        age_range="25-34",
        occupation="Nurse",
        location="Leeds",
        goals="Pay less than last time",
        needs="Clear delivery costs",
        pain_points="Hidden fees at checkout",
        motivations="Feeling smart about a deal",
        channels=["Instagram", "Price comparison sites"],
        online_behaviour="Browses on the phone in the evening",
        quote="I never pay full price.",
        segment={"all": [{"field": "device", "op": "equals", "value": "mobile"}]},
    )


# The list


def test_list_shows_cards_with_initials_summary_and_the_maps_using_each(
    ws_viewer_client, workspace, persona
):
    journey = factories.make_map(workspace, "Checkout journey")
    journey.personas.add(persona)
    factories.make_persona(workspace, "Loyal fan")

    response = ws_viewer_client.get(url("persona_list"))

    assertContains(response, "Bargain hunter")
    assertContains(response, "Compares prices everywhere before buying.")
    assertContains(response, '<span class="avatar persona-initials" aria-hidden="true">BH</span>')
    assertContains(response, f'href="{journey.get_absolute_url()}">Checkout journey</a>')
    assertContains(response, "no map yet")  # the loyal fan
    assertContains(response, url("persona_detail", persona))


def test_list_shows_an_uploaded_picture_instead_of_initials(ws_viewer_client, persona):
    services.persona_set_avatar(
        persona=persona, expected_version=1, upload=upload("me.png", image_bytes())
    )

    response = ws_viewer_client.get(url("persona_list"))

    assertContains(response, f'src="{url("persona_avatar", persona)}?v=2"')
    assertNotContains(response, ">BH</span>")


def test_editors_get_a_new_persona_button_and_viewers_do_not(ws_editor_client, ws_viewer_client):
    assertContains(ws_editor_client.get(url("persona_list")), "New persona")
    assertNotContains(ws_viewer_client.get(url("persona_list")), "New persona")


def test_list_queries_do_not_grow_with_the_number_of_personas(ws_viewer_client, workspace):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert ws_viewer_client.get(url("persona_list")).status_code == 200
        return len(queries)

    def add_personas(count: int) -> None:
        for _ in range(count):
            persona = factories.make_persona(workspace, f"Persona {Persona.objects.count()}")
            services.persona_set_avatar(
                persona=persona, expected_version=1, upload=upload("a.png", image_bytes())
            )
            for _ in range(2):
                factories.make_map(workspace).personas.add(persona)

    add_personas(2)
    queries_for_list()  # the first visit also records the workspace in the session
    few = queries_for_list()
    add_personas(10)
    many = queries_for_list()

    assert many == few
    assertContains(ws_viewer_client.get(url("persona_list")), 'class="card persona-card"', 12)


# Creating


def test_editor_creates_a_persona_and_lands_on_its_page(ws_editor_client, workspace):
    response = ws_editor_client.post(
        url("persona_create"), {"name": "Gift giver", "summary": "Buys for others"}, follow=True
    )

    persona = Persona.objects.get(workspace=workspace, name="Gift giver")
    assertRedirects(response, url("persona_detail", persona))
    assertContains(response, "Created “Gift giver”.")
    assertContains(response, '<h1 id="section-profile-title">Gift giver</h1>', html=True)


def test_creating_a_persona_with_a_taken_name_is_refused(ws_editor_client, persona):
    response = ws_editor_client.post(url("persona_create"), {"name": "Bargain hunter"})

    assertContains(
        response,
        "There is already a persona named “Bargain hunter” in this workspace.",
        status_code=422,
    )
    assert Persona.objects.count() == 1


# The detail page


def test_detail_shows_every_field(ws_viewer_client, persona):
    response = ws_viewer_client.get(url("persona_detail", persona))

    for text in (
        "Bargain hunter",
        "Compares prices everywhere before buying.",
        "25-34",
        "Nurse",
        "Leeds",
        "Pay less than last time",
        "Clear delivery costs",
        "Hidden fees at checkout",
        "Feeling smart about a deal",
        '<span class="chip">Instagram</span>',
        '<span class="chip">Price comparison sites</span>',
        "Browses on the phone in the evening",
        "I never pay full price.",
        "<strong>device equals mobile</strong>",
        "&quot;op&quot;: &quot;equals&quot;",
    ):
        assertContains(response, text)


def test_detail_page_offers_editors_an_edit_link_per_section_that_works_without_javascript(
    ws_editor_client, persona
):
    response = ws_editor_client.get(url("persona_detail", persona))

    goals = edit_url(persona, "goals")
    assertContains(response, f'href="{goals}" hx-get="{goals}" hx-target="#section-goals"')
    for section in (
        "profile",
        "avatar",
        "needs",
        "pain-points",
        "motivations",
        "channels",
        "quote",
        "segment",
    ):
        assertContains(response, f'href="{edit_url(persona, section)}"')
    assertContains(response, url("persona_delete", persona))


def test_editing_in_place_returns_only_the_section_form(ws_editor_client, persona):
    response = ws_editor_client.get(edit_url(persona, "goals"), headers=htmx(persona, "goals"))

    assert response.status_code == 200
    assertNotContains(response, "<html")
    assertContains(response, 'id="section-goals"')
    assertContains(response, f'hx-post="{edit_url(persona, "goals")}"')
    assertContains(response, "Pay less than last time</textarea>")
    assertContains(response, 'name="version" value="1"')
    read = url("persona_section", persona, section="goals")
    assertContains(response, f'href="{read}" hx-get="{read}"')  # Cancel


def test_without_htmx_the_edit_link_opens_the_page_with_that_form(ws_editor_client, persona):
    response = ws_editor_client.get(edit_url(persona, "needs"))

    assertContains(response, "<html")
    assertContains(response, "Clear delivery costs</textarea>")
    assertContains(response, "Hidden fees at checkout")  # the other sections, read-only


def test_saving_in_place_returns_the_section_with_the_saved_value(ws_editor_client, persona):
    response = ws_editor_client.post(
        edit_url(persona, "goals"),
        {"version": "1", "goals": "Never pay shipping\nBuy in bulk"},
        headers=htmx(persona, "goals"),
    )

    assert response.status_code == 200
    assertNotContains(response, "<form")
    assertContains(response, "Never pay shipping<br>Buy in bulk")
    assertContains(response, f'href="{edit_url(persona, "goals")}"')
    persona.refresh_from_db()
    assert (persona.goals, persona.version) == ("Never pay shipping\nBuy in bulk", 2)


def test_saving_the_profile_renames_the_persona(ws_editor_client, persona):
    data = {
        "version": "1",
        "name": "Deal seeker",
        "summary": "",
        "age_range": "35-44",
        "occupation": "",
        "location": "Leeds",
    }

    response = ws_editor_client.post(
        edit_url(persona, "profile"), data, headers=htmx(persona, "profile")
    )

    assertContains(response, '<h1 id="section-profile-title">Deal seeker</h1>', html=True)
    assertContains(response, "35-44")
    persona.refresh_from_db()
    assert (persona.name, persona.summary, persona.occupation) == ("Deal seeker", "", "")


def test_saving_without_htmx_goes_back_to_the_page_at_the_section(ws_editor_client, persona):
    response = ws_editor_client.post(
        edit_url(persona, "quote"), {"version": "1", "quote": "Cheaper elsewhere?"}
    )

    assertRedirects(response, url("persona_detail", persona) + "#section-quote")
    assertContains(ws_editor_client.get(url("persona_detail", persona)), "Cheaper elsewhere?")


def test_channels_are_edited_as_a_comma_separated_line(ws_editor_client, persona):
    form = ws_editor_client.get(edit_url(persona, "channels"), headers=htmx(persona, "channels"))
    assertContains(form, 'value="Instagram, Price comparison sites"')

    response = ws_editor_client.post(
        edit_url(persona, "channels"),
        {"version": "1", "channels": "Email, TikTok, email", "online_behaviour": "Scrolls"},
        headers=htmx(persona, "channels"),
    )

    assertContains(response, '<span class="chip">Email</span> <span class="chip">TikTok</span>')
    persona.refresh_from_db()
    assert persona.channels == ["Email", "TikTok"]


def test_cancel_brings_back_the_read_view(ws_editor_client, persona):
    response = ws_editor_client.get(
        url("persona_section", persona, section="needs"), headers=htmx(persona, "needs")
    )

    assertNotContains(response, "<form")
    assertContains(response, "Clear delivery costs")
    assertContains(response, f'href="{edit_url(persona, "needs")}"')


def test_an_unknown_section_is_not_found(ws_editor_client, persona):
    assert ws_editor_client.get(edit_url(persona, "shoe-size")).status_code == 404


# No lost update


def test_a_save_made_on_an_old_version_is_refused_with_the_current_content(
    workspace, persona, ws_editor_client
):
    other_editor = Client()
    other_editor.force_login(factories.make_member(workspace, "editor"))
    # Both open the goals form at version 1; the other editor saves first.
    other_editor.post(edit_url(persona, "goals"), {"version": "1", "goals": "Their goals"})

    response = ws_editor_client.post(
        edit_url(persona, "goals"),
        {"version": "1", "goals": "My goals"},
        headers=htmx(persona, "goals"),
    )

    assertContains(
        response,
        "Someone else changed this persona since you opened it;</strong> here is the current "
        "version — your text is below so you can re-apply it.",
        status_code=409,
    )
    assertContains(response, "Their goals", status_code=409)  # the fresh content
    assertContains(response, "My goals</textarea>", status_code=409)  # their own text, kept
    assertContains(response, 'name="version" value="2"', status_code=409)
    persona.refresh_from_db()
    assert (persona.goals, persona.version) == ("Their goals", 2)


def test_after_a_refusal_saving_again_applies_the_users_text(ws_editor_client, persona):
    services.persona_update(persona=persona, expected_version=1, changes={"quote": "Theirs"})
    refused = ws_editor_client.post(
        edit_url(persona, "quote"),
        {"version": "1", "quote": "Mine"},
        headers=htmx(persona, "quote"),
    )
    assert refused.status_code == 409

    response = ws_editor_client.post(
        edit_url(persona, "quote"),
        {"version": "2", "quote": "Mine"},
        headers=htmx(persona, "quote"),
    )

    assertContains(response, "Mine")
    persona.refresh_from_db()
    assert (persona.quote, persona.version) == ("Mine", 3)


def test_saving_a_persona_that_no_longer_exists_is_not_found(ws_editor_client, persona):
    Persona.objects.filter(pk=persona.pk).delete()

    response = ws_editor_client.post(
        edit_url(persona, "goals"), {"version": "1", "goals": "x"}, headers=htmx(persona, "goals")
    )

    assert response.status_code == 404


def test_a_persona_deleted_while_saving_sends_the_editor_back_to_the_list(
    ws_editor_client, persona, monkeypatch
):
    def deleted_meanwhile(*, persona, expected_version, changes):
        Persona.objects.filter(pk=persona.pk).delete()
        raise StaleEdit(None)

    monkeypatch.setattr(services, "persona_update", deleted_meanwhile)

    response = ws_editor_client.post(
        edit_url(persona, "goals"), {"version": "1", "goals": "x"}, headers=htmx(persona, "goals")
    )

    assert response["HX-Redirect"] == url("persona_list")
    assertContains(
        ws_editor_client.get(url("persona_list")),
        "Someone else deleted this persona while you were editing it.",
    )


# The segment rule


def test_a_bad_rule_is_refused_in_place_with_its_path_and_nothing_is_saved(
    ws_editor_client, persona
):
    typed = '{"all": [{"field": "country", "op": "in", "value": "FR"}]}'

    response = ws_editor_client.post(
        edit_url(persona, "segment"),
        {"version": "1", "segment": typed},
        headers=htmx(persona, "segment"),
    )

    assertContains(
        response,
        "rule.all[0].value: must be a list of strings or numbers for &quot;in&quot;",
        status_code=422,
    )
    assertContains(response, "&quot;value&quot;: &quot;FR&quot;", status_code=422)  # kept as typed
    persona.refresh_from_db()
    assert persona.segment == {"all": [{"field": "device", "op": "equals", "value": "mobile"}]}
    assert persona.version == 1


def test_invalid_json_is_refused_in_place(ws_editor_client, persona):
    response = ws_editor_client.post(
        edit_url(persona, "segment"),
        {"version": "1", "segment": "{all: []}"},
        headers=htmx(persona, "segment"),
    )

    assertContains(response, "This is not valid JSON", status_code=422)
    assertContains(response, "(line 1, column 2)", status_code=422)
    assert Persona.objects.get(pk=persona.pk).version == 1


def test_a_good_rule_is_saved_and_described(ws_editor_client, persona):
    rule = '{"any": [{"field": "source", "op": "in", "value": ["google", "bing"]}]}'

    response = ws_editor_client.post(
        edit_url(persona, "segment"),
        {"version": "1", "segment": rule},
        headers=htmx(persona, "segment"),
    )

    assertContains(response, "<strong>source in google, bing</strong>")
    persona.refresh_from_db()
    assert persona.segment == {
        "any": [{"field": "source", "op": "in", "value": ["google", "bing"]}]
    }


def test_emptying_the_rule_removes_it(ws_editor_client, persona):
    response = ws_editor_client.post(
        edit_url(persona, "segment"),
        {"version": "1", "segment": ""},
        headers=htmx(persona, "segment"),
    )

    assertContains(response, "No rule: every user counts as this persona.")
    assert Persona.objects.get(pk=persona.pk).segment is None


# The picture


def test_a_png_is_accepted_and_shown_and_served_only_to_members(
    ws_editor_client, ws_viewer_client, outsider_client, persona
):
    png = image_bytes("PNG", size=(32, 32))

    response = ws_editor_client.post(
        edit_url(persona, "avatar"),
        {"version": "1", "avatar": upload("me.png", png)},
        headers=htmx(persona, "avatar"),
    )

    avatar_url = url("persona_avatar", persona)
    assertContains(response, f'<img class="persona-avatar large" src="{avatar_url}?v=2"')
    served = ws_viewer_client.get(avatar_url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert b"".join(served.streaming_content) == png
    assert outsider_client.get(avatar_url).status_code == 404
    assert Client().get(avatar_url).status_code == 302  # to the login page


def test_a_text_file_named_png_is_refused(ws_editor_client, persona):
    response = ws_editor_client.post(
        edit_url(persona, "avatar"),
        {"version": "1", "avatar": upload("me.png", b"<svg onload=alert(1)></svg>")},
        headers=htmx(persona, "avatar"),
    )

    assertContains(
        response,
        "This file is not an image we can use. Upload a PNG, JPEG, WebP, GIF picture.",
        status_code=422,
    )
    persona.refresh_from_db()
    assert persona.avatar.name == ""
    assert ws_editor_client.get(url("persona_avatar", persona)).status_code == 404


def test_a_picture_over_two_megabytes_is_refused(ws_editor_client, persona):
    response = ws_editor_client.post(
        edit_url(persona, "avatar"),
        {"version": "1", "avatar": upload("big.png", noise_png(900))},
        headers=htmx(persona, "avatar"),
    )

    assertContains(response, "a picture may be at most 2 MB.", status_code=422)
    assert Persona.objects.get(pk=persona.pk).avatar.name == ""


def test_removing_the_picture_goes_back_to_initials(ws_editor_client, persona):
    services.persona_set_avatar(
        persona=persona, expected_version=1, upload=upload("me.gif", image_bytes("GIF"))
    )
    form = ws_editor_client.get(edit_url(persona, "avatar"), headers=htmx(persona, "avatar"))
    assertContains(form, 'name="remove" value="1"')

    response = ws_editor_client.post(
        edit_url(persona, "avatar"),
        {"version": "2", "remove": "1"},
        headers=htmx(persona, "avatar"),
    )

    assertContains(response, ">BH</span>")
    assertNotContains(response, "<img")
    assert Persona.objects.get(pk=persona.pk).avatar.name == ""


# Roles and workspaces


def test_viewers_see_the_page_without_any_edit_control(ws_viewer_client, persona):
    response = ws_viewer_client.get(url("persona_detail", persona))

    assertContains(response, "Pay less than last time")
    assertNotContains(response, "/edit/")
    assertNotContains(response, ">Edit<")
    assertNotContains(response, "hx-post")
    assertNotContains(response, "Delete persona")
    assertNotContains(response, "Change picture")


def test_viewers_cannot_use_the_edit_endpoints(ws_viewer_client, persona):
    assert ws_viewer_client.get(edit_url(persona, "goals")).status_code == 403
    response = ws_viewer_client.post(
        edit_url(persona, "goals"),
        {"version": "1", "goals": "Hacked"},
        headers=htmx(persona, "goals"),
    )
    assert response.status_code == 403
    assert ws_viewer_client.post(url("persona_delete", persona)).status_code == 403
    assert ws_viewer_client.post(url("persona_create"), {"name": "Sneaky"}).status_code == 403
    persona.refresh_from_db()
    assert persona.goals == "Pay less than last time"
    assert Persona.objects.count() == 1


def test_outsiders_get_not_found_everywhere(outsider_client, persona):
    for address in (
        url("persona_list"),
        url("persona_detail", persona),
        url("persona_avatar", persona),
        edit_url(persona, "goals"),
        url("persona_delete", persona),
    ):
        assert outsider_client.get(address).status_code == 404, address


def test_another_workspaces_persona_is_not_found_from_ones_own(ws_editor_client, other_workspace):
    theirs = factories.make_persona(other_workspace, "Their persona")

    assert ws_editor_client.get(url("persona_detail", theirs)).status_code == 404
    assert ws_editor_client.get(edit_url(theirs, "goals")).status_code == 404
    response = ws_editor_client.post(edit_url(theirs, "goals"), {"version": "1", "goals": "Mine"})
    assert response.status_code == 404
    assert ws_editor_client.post(url("persona_delete", theirs)).status_code == 404
    assert Persona.objects.get(pk=theirs.pk).goals == ""


def test_an_htmx_save_passes_the_csrf_check_with_the_token_the_page_sets(ws_editor, persona):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ws_editor)
    page = browser.get(url("persona_detail", persona)).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)

    without = browser.post(
        edit_url(persona, "quote"), {"version": "1", "quote": "x"}, headers=htmx(persona, "quote")
    )
    with_token = browser.post(
        edit_url(persona, "quote"),
        {"version": "1", "quote": "Saved safely"},
        headers={**htmx(persona, "quote"), "X-CSRFToken": token},
    )

    assert without.status_code == 403
    assertContains(with_token, "Saved safely")


# Deleting


def test_delete_asks_for_confirmation_naming_the_maps_that_use_it(
    ws_editor_client, workspace, persona
):
    factories.make_map(workspace, "Checkout journey").personas.add(persona)

    response = ws_editor_client.get(url("persona_delete", persona))

    assertContains(response, "Delete “Bargain hunter”?")
    assertContains(response, "used in 1 map")
    assertContains(response, "Checkout journey")
    assert Persona.objects.filter(pk=persona.pk).exists()


def test_delete_removes_the_persona_from_its_maps(ws_editor_client, workspace, persona):
    journey = factories.make_map(workspace, "Checkout journey")
    journey.personas.add(persona)

    response = ws_editor_client.post(url("persona_delete", persona), follow=True)

    assertRedirects(response, url("persona_list"))
    assertContains(response, "Deleted “Bargain hunter”.")
    assertNotContains(response, 'id="persona-')
    assert not JourneyMap.objects.get(pk=journey.pk).personas.exists()
    map_page = ws_editor_client.get(journey.get_absolute_url())
    # Named once only, in the map's change log.
    assertContains(map_page, "Bargain hunter", count=1)
    assertContains(map_page, "Removed persona “Bargain hunter” (the persona was deleted)")
