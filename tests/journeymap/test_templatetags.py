"""The editor's display helpers: id_url gives exactly what {% url %} gives."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from journeymap.templatetags.journeymap_tags import id_url


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("map_list", ["acme"]),
        ("map_detail", ["acme", "spring-sale"]),
        ("stage_part_edit", ["acme", 12, "goal"]),  # the id in the middle of the path
        ("stage_part_edit", ["acme", 7, "emotion"]),
        ("card_edit", ["acme", "touchpoint", 42]),
        ("card_edit", ["acme", "kpi", 3]),
        ("card_add", ["acme", 5, "pain_point"]),
        ("comment_thread", ["acme", "spring-sale", "opportunity", 9]),
        ("card_edit", ["9137000000", "touchpoint", 1]),  # a slug that looks like the sentinel
    ],
)
def test_id_url_is_the_url_that_reverse_gives(name, args) -> None:
    assert id_url(name, *args) == reverse(name, args=args)
    assert id_url(name, *args) == reverse(name, args=args)  # and again, from its remembered form


def test_id_url_in_a_template_is_escaped_like_the_url_tag() -> None:
    template = Template(
        "{% load journeymap_tags %}{% id_url 'card_edit' ws 'touchpoint' pk %}|"
        "{% url 'card_edit' ws 'touchpoint' pk %}"
    )

    ours, django = template.render(Context({"ws": "acme", "pk": 42})).split("|")

    assert ours == django == "/w/acme/cards/touchpoint/42/edit/"
