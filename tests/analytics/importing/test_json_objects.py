"""The `extra` JSON of plain columns: exact JSON, the very text json.dumps writes row by row."""

import json

import pandas as pd
import pytest

from analytics.importing.transform import json_objects

VALUES = {
    "brand": ["acme", "", 'say "hi"', "back\\slash", "", "tab\there", "café ☕", "", "line\nbreak"],
    "price": ["1.5", "", "", "2", "", "3", "", "", "0"],
    'odd "key" é': ["", "", "x", "", "", "", "", "", "y"],
}


def json_objects_naive(columns: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """Row by row with json.dumps: the text the vectorised version must write to the letter."""
    rows = []
    for position in range(len(index)):
        row = {key: values.iloc[position] for key, values in columns.items()}
        row = {key: value for key, value in row.items() if not pd.isna(value) and value != ""}
        rows.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")) if row else None)
    return pd.Series(pd.array(rows, dtype="str"), index=index)


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
def test_the_text_is_json_dumps_of_each_row_to_the_letter(names):
    columns, index = _columns(names, start=2)

    pd.testing.assert_series_equal(json_objects(columns, index), json_objects_naive(columns, index))


def test_a_slice_of_a_larger_column_is_escaped_from_its_own_values():
    values = pd.Series(['"quoted"', "plain", "plain too"], dtype="str")
    plain = values.iloc[1:]  # the quote sits in the shared buffer, outside this slice

    objects = json_objects({"k": plain}, plain.index)

    assert list(objects) == ['{"k":"plain"}', '{"k":"plain too"}']
    assert json_objects({"k": values}, values.index).iloc[0] == '{"k":"\\"quoted\\""}'
