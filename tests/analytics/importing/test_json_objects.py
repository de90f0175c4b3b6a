"""The `extra` JSON of plain columns: exact JSON, and the same text as before it was made faster."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analytics.importing.transform import CONTROLS, NEEDS_ESCAPE, json_objects

VALUES = {
    "brand": ["acme", "", 'say "hi"', "back\\slash", "", "tab\there", "café ☕", "", "line\nbreak"],
    "price": ["1.5", "", "", "2", "", "3", "", "", "0"],
    'odd "key" é': ["", "", "x", "", "", "", "", "", "y"],
}


def json_objects_before(columns: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """The implementation this one replaced, kept to show both give the same text."""
    if not columns:
        return pd.Series(None, index=index, dtype="object")
    pieces = []
    for key, values in columns.items():
        text = pc.fill_null(pa.array(values, type=pa.string()), "")
        escaped = text
        if pc.any(pc.match_substring_regex(text, NEEDS_ESCAPE)).as_py():
            escaped = pc.replace_substring(text, "\\", "\\\\")
            escaped = pc.replace_substring(escaped, '"', '\\"')
            controls = pc.match_substring_regex(text, CONTROLS).to_numpy(zero_copy_only=False)
            if controls.any():
                cells = escaped.to_pylist()
                for row in np.flatnonzero(controls):
                    cells[row] = json.dumps(text[row].as_py())[1:-1]
                escaped = pa.array(cells, type=pa.string())
        prefix = "," + json.dumps(key, ensure_ascii=False) + ':"'
        piece = pc.binary_join_element_wise(prefix, escaped, '"', "")
        pieces.append(pc.if_else(pc.equal(text, ""), "", piece))
    parts = pc.binary_join_element_wise(*pieces, "")
    objects = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(parts, 1), "}", "")
    objects = pc.if_else(pc.equal(parts, ""), pa.scalar(None, pa.string()), objects)
    return pd.Series(pd.array(objects, dtype="str"), index=index)


def _columns(names: list[str], start: int = 0) -> tuple[dict[str, pd.Series], pd.Index]:
    index = pd.Index(range(start, start + len(VALUES["brand"])), name="line")
    return {name: pd.Series(VALUES[name], index=index, dtype="str") for name in names}, index


@pytest.mark.parametrize(
    "names", [["brand"], ["price"], ["brand", "price"], ["price", 'odd "key" é', "brand"]]
)
def test_each_row_is_its_non_empty_values_as_json_or_nothing(names):
    columns, index = _columns(names)

    objects = json_objects(columns, index)

    for position, text in enumerate(objects):
        expected = {name: VALUES[name][position] for name in names if VALUES[name][position]}
        if expected:
            assert json.loads(text) == expected
            assert list(json.loads(text)) == list(expected)  # the columns' order
        else:
            assert pd.isna(text)


@pytest.mark.parametrize(
    "names", [["brand"], ["price"], ["brand", "price"], ["price", 'odd "key" é', "brand"]]
)
def test_the_text_is_the_one_the_previous_implementation_wrote(names):
    columns, index = _columns(names, start=2)

    after = json_objects(columns, index)
    before = json_objects_before(columns, index)

    pd.testing.assert_series_equal(after, before)


def test_a_slice_of_a_larger_column_is_escaped_from_its_own_values():
    values = pd.Series(['"quoted"', "plain", "plain too"], dtype="str")
    plain = values.iloc[1:]  # the quote sits in the shared buffer, outside this slice

    objects = json_objects({"k": plain}, plain.index)

    assert list(objects) == ['{"k":"plain"}', '{"k":"plain too"}']
    assert json_objects({"k": values}, values.index).iloc[0] == '{"k":"\\"quoted\\""}'
