"""Map JSON imports given bad documents: a MapJSONError naming a JSON path, and nothing created.

Random JSON, and the valid document of tests/journeymap/test_mapjson.py with one value replaced by
random JSON (wrong types, huge strings, deep nesting) or an unknown key added; through the import
page too, which answers 422 or a redirect, never a 500.
"""

import copy
import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from journeymap.mapjson import MapJSONError, map_import, parse_map_json
from journeymap.models import JourneyMap, MapChange
from personas.models import Persona
from stages.models import Stage
from tests.conftest import logged_in
from tests.journeymap.test_mapjson import BASE
from tests.security.conftest import fuzz_settings, tried
from touchpoints.models import Touchpoint

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["x" * 100_000, "", " ", "\x00", "<script>", "=1+1", "users", "custom"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=12,
)


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (JourneyMap, Stage, Touchpoint, Persona, MapChange)
    )


def paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path into a JSON value, itself included."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*path, index))
    return found


def replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    document = copy.deepcopy(document)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


def assert_refused_with_a_path(text: str | bytes, workspace) -> None:
    """Import `text`: either a map is made, or MapJSONError names a path and nothing is made."""
    before = counts()
    try:
        map_import(data=parse_map_json(text), workspace=workspace)
    except MapJSONError as error:
        assert error.message.strip()
        assert error.path.strip()
        assert str(error) == f"{error.path}: {error.message}"
        assert counts() == before
    else:
        assert counts()[0] == before[0] + 1


@fuzz_settings(40)
@given(document=json_values)
def test_random_json(workspace, document: Any) -> None:
    tried("map JSON: random documents")
    assert_refused_with_a_path(json.dumps(document), workspace)


@fuzz_settings(60)
@given(data=st.data())
def test_a_valid_document_with_one_value_replaced(workspace, data) -> None:
    tried("map JSON: one value replaced")
    path = data.draw(st.sampled_from(paths(BASE)))
    document = replaced(BASE, path, data.draw(json_values))
    assert_refused_with_a_path(json.dumps(document), workspace)


@fuzz_settings(20)
@given(data=st.data())
def test_a_valid_document_with_an_unknown_key(workspace, data) -> None:
    tried("map JSON: unknown keys")
    objects = [path for path in paths(BASE) if isinstance(_at(BASE, path), dict)]
    path = data.draw(st.sampled_from(objects))
    key = data.draw(st.text(min_size=1, max_size=10))
    target = _at(BASE, path)
    document = replaced(BASE, path, {**target, key: data.draw(json_values)})
    assert_refused_with_a_path(json.dumps(document), workspace)


def _at(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


@fuzz_settings(20)
@given(content=st.binary(max_size=2000) | st.integers(1, 100_000).map(lambda n: b"[" * n))
def test_random_bytes_and_deep_nesting(workspace, content: bytes) -> None:
    tried("map JSON: random bytes, deep nesting")
    assert_refused_with_a_path(content, workspace)


@fuzz_settings(15)
@given(document=json_values | st.just(BASE).map(lambda base: {**base, "name": "x" * 300}))
def test_the_import_page_never_answers_500(ws_editor, document: Any) -> None:
    tried("map JSON: through the import page")
    file = SimpleUploadedFile("map.json", json.dumps(document).encode())

    response = logged_in(ws_editor).post(reverse("map_import", args=["acme"]), {"file": file})

    assert response.status_code in (302, 400, 422)


def test_an_empty_or_odd_unknown_key_is_shown_quoted(workspace) -> None:
    """Found by the fuzzer: an empty key was reported as ": unknown key", with no path."""
    for key, path in [("", '$[""]'), ("a.b", '$["a.b"]'), ("x" * 100, f'$["{"x" * 60}…"]')]:
        document = json.dumps({**BASE, key: 1}, ensure_ascii=False)
        try:
            map_import(data=parse_map_json(document), workspace=workspace)
        except MapJSONError as error:
            assert error.path == path
        else:
            raise AssertionError(f"{key!r} was accepted")
    document = copy.deepcopy(BASE)
    document["stages"][1][""] = 1
    try:
        map_import(data=parse_map_json(json.dumps(document)), workspace=workspace)
    except MapJSONError as error:
        assert error.path == 'stages[1][""]'
