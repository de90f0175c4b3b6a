"""Every form of the project given random input: a page, a redirect, or a refusal (4xx with a
message), never a 500 and never a 400 (htmx's debug script would replace the page).

Each form is posted by a member allowed to use it, starting from the real data of the access
matrix (tests/journeymap/test_access.py) with fields left out, replaced by random text, huge text,
odd numbers, ids of the other workspace's objects, or random files, and unknown fields added.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from journeymap.editor import CARD_KINDS
from personas.forms import SECTIONS
from stages.forms import STAGE_PARTS, stage_form_class
from tests.journeymap.test_access import (
    ADMIN,
    EDITOR,
    MATRIX,
    VIEWER,
    VISITORS,
    Scene,
    version_of,
)
from tests.security.conftest import fuzz_settings, tried

# POSTs that read nothing from the request but its CSRF token: nothing to fuzz.
NO_INPUT = {
    "map_duplicate",
    "map_delete",
    "stage_create",
    "snapshot_restore",
    "persona_delete",
    "comment_delete",
    "comment_resolve",
    "comment_reopen",
    "share_link_create",
    "share_link_revoke",
    "member_remove",
    "dataset_retry",
    "dataset_delete",
}
FILE_FIELDS = {"file", "avatar"}


@dataclass(frozen=True)
class Form:
    """A form to fuzz: its URL, who posts it, and the real data it starts from."""

    name: str
    url_name: str
    kwargs: Callable[[Scene], dict[str, Any]]
    data: Callable[[Scene], dict[str, Any]]
    visitor: str = ADMIN


def _from_the_matrix() -> list[Form]:
    forms, seen = [], set()
    for row in MATRIX:
        if row.method != "post" or row.url_name in NO_INPUT or row.id in seen:
            continue
        seen.add(row.id)
        allowed = dict(zip(VISITORS, row.statuses, strict=True))
        visitor = next((v for v in (ADMIN, EDITOR, VIEWER) if allowed[v] in (200, 302)), None)
        if visitor is None:  # a row of refusals only (another member's comment)
            continue
        forms.append(Form(row.id, row.url_name, row.kwargs, row.data, visitor))
    return forms


def _blank(names: Any) -> dict[str, str]:
    return dict.fromkeys(names, "")


FORMS = [
    *_from_the_matrix(),
    *(
        Form(
            f"stage_part_edit-{part}",
            "stage_part_edit",
            lambda s, part=part: {"pk": s.awareness.pk, "part": part},
            lambda s, part=part: {
                **_blank(stage_form_class(part).base_fields),
                "expected_version": version_of(s.awareness),
            },
        )
        for part in STAGE_PARTS
    ),
    *(
        Form(
            f"card_add-{kind}",
            "card_add",
            lambda s, kind=kind: {"pk": s.awareness.pk, "kind": kind},
            lambda s, kind=kind: _blank(CARD_KINDS[kind].form.base_fields),
        )
        for kind in CARD_KINDS
    ),
    *(
        Form(
            f"persona_section_edit-{key}",
            "persona_section_edit",
            lambda s, key=key: {"pk": s.persona.pk, "section": key},
            lambda s, key=key: {
                **_blank(SECTIONS[key].form_class.base_fields),
                "version": version_of(s.persona),
            },
        )
        for key in SECTIONS
    ),
]

ODD = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999999999",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "1.5",
    "null",
    "true",
    "[]",
    "{}",
    '{"all": []}',
    '{"all": [{"field": "event", "op": "equals", "value": 1}]}',
    "\x00",
    "<script>alert(1)</script>",
    "=1+1",
    "../../etc/passwd",
    "é" * 10,
    "\U0001f600",
]
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(ODD),
    st.integers().map(str),
    st.just("x" * 100_000),
)
MISSING = object()


def rival_ids(scene: Scene) -> list[str]:
    """Ids of the other workspace's objects, to slip into id fields."""
    return [
        str(pk)
        for pk in (
            scene.rival_map.pk,
            scene.rival_stage.pk,
            scene.rival_touchpoint.pk,
            scene.rival_persona.pk,
            scene.rival_snapshot.pk,
            scene.rival_comment.pk,
            scene.outsider_membership.pk,
        )
    ]


def fuzzed(data: st.DataObject, real: dict[str, Any], scene: Scene) -> dict[str, Any]:
    values = texts | st.sampled_from(rival_ids(scene))
    result = {}
    for name, value in real.items():
        if name in FILE_FIELDS:
            choice = data.draw(st.sampled_from(["real", "random", "missing", "text"]))
            if choice == "random":
                content = data.draw(st.binary(max_size=3000))
                # Any name a browser may send: Django's test client itself refuses "/", "..".
                filename = "f" + data.draw(st.text(max_size=20)).replace("/", "_")
                result[name] = SimpleUploadedFile(filename, content)
            elif choice == "text":
                result[name] = data.draw(texts)
            elif choice == "real":
                result[name] = value
            continue
        choice = data.draw(st.sampled_from(["real", "missing", "fuzz", "fuzz", "list"]))
        if choice == "real":
            result[name] = value
        elif choice == "fuzz":
            result[name] = data.draw(values)
        elif choice == "list":
            result[name] = data.draw(st.lists(values, max_size=3))
    extra = data.draw(st.dictionaries(st.text(min_size=1, max_size=10), texts, max_size=2))
    return {**extra, **result}


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_a_form_given_random_input_never_answers_500(scene: Scene, form: Form) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(_user(form.visitor))
    url = reverse(form.url_name, kwargs={"workspace": "acme", **form.kwargs(scene)})
    real = form.data(scene)

    @fuzz_settings(6)
    @given(data=st.data(), htmx=st.booleans())
    def post(data: st.DataObject, htmx: bool) -> None:
        tried(f"form: {form.url_name}")
        headers = {"HX-Request": "true"} if htmx else {}

        response = client.post(url, fuzzed(data, real, scene), headers=headers)

        assert response.status_code < 500, response.content[:2000]
        assert response.status_code != 400, response.content[:500]
        if response.status_code == 422:
            assert response.content.strip()

    post()


def _user(visitor: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(
        username={ADMIN: "alice", EDITOR: "eddie", VIEWER: "vera"}[visitor]
    )


def test_every_form_is_fuzzed() -> None:
    posted = {
        row.url_name
        for row in MATRIX
        if row.method == "post" and {200, 302} & set(row.statuses[1:5])  # a member may post it
    }

    assert posted - NO_INPUT == {form.url_name for form in FORMS}


# Query parameters the pages read.
PAGES = [
    ("map_list", {}, ["archived"]),
    ("map_detail", "map", ["persona"]),
    ("map_dashboard", "map", ["persona"]),
    ("map_dashboard_csv", "map", ["persona"]),
    ("map_history", "map", ["a", "b", "changes"]),
    ("map_activity", "map", ["page"]),
    ("map_comments", "map", ["on", "resolved"]),
    ("comment_panel", "map", ["on", "resolved"]),
    ("map_figures", "map", ["persona"]),
]


def test_the_pages_given_random_query_parameters_never_answer_500(scene: Scene) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(_user(ADMIN))
    for url_name, kwargs, names in PAGES:
        arguments = {"slug": scene.journey_map.slug} if kwargs == "map" else {}
        url = reverse(url_name, kwargs={"workspace": "acme", **arguments})
        _query_fuzzer(client, url_name, url, names)()


def _query_fuzzer(client: Client, url_name: str, url: str, names: list[str]) -> Callable:
    @fuzz_settings(6)
    @given(
        query=st.fixed_dictionaries({}, optional=dict.fromkeys(names, texts)),
        htmx=st.booleans(),
    )
    def get(query: dict[str, str], htmx: bool) -> None:
        tried(f"query: {url_name}")
        query = {name: value.replace("\x00", "") for name, value in query.items()}
        headers = {"HX-Request": "true", "HX-Current-URL": f"http://x/?{urlencode(query)}"}

        response = client.get(url, query, headers=headers if htmx else {})

        assert response.status_code < 500, (url_name, response.content[:2000])
        assert response.status_code != 400

    return get


def test_a_persona_id_past_the_database_range_is_no_persona(scene: Scene) -> None:
    """Found by the fuzzer: ?persona=9223372036854775808 was a 500 (an OverflowError on SQLite)."""
    client = Client(raise_request_exception=False)
    client.force_login(_user(ADMIN))

    for url_name in ("map_detail", "map_dashboard", "map_dashboard_csv", "map_figures"):
        url = reverse(url_name, args=["acme", scene.journey_map.slug])
        response = client.get(url, {"persona": str(2**63)})

        assert response.status_code in (200, 302)  # the figures' region alone is for htmx
