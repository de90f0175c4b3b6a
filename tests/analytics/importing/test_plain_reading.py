"""The fast reader of plain files gives exactly the csv-module reader's records, or steps aside."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.importing import reading
from analytics.importing.reading import PlainReader, TableReader


def slow(text: str, delimiter: str = ",") -> tuple[list[tuple[int, list[str]]], TableReader]:
    reader = TableReader(io.StringIO(text, newline=""), delimiter=delimiter)
    return list(reader), reader


def fast(text: str, delimiter: str = ",") -> tuple[PlainReader | None, list, list]:
    """(the reader, [(line, record)] of good records, [(line, fields)] of bad ones)."""
    reader = PlainReader.start(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader is None:
        return None, [], []
    good, bad = [], []
    for block in reader.blocks():
        columns = [column.to_pylist() for column in block.table.columns]
        good += [
            (int(line), list(record))
            for line, record in zip(block.lines, zip(*columns, strict=True), strict=True)
        ]
        bad += block.bad
    return reader, good, bad


def assert_same_records(text: str, delimiter: str = ",") -> PlainReader | None:
    reader, good, bad = fast(text, delimiter)
    if reader is None:
        return None
    rows, table_reader = slow(text, delimiter)
    width = len(reader.columns)
    assert table_reader.chosen is not None
    assert reader.columns == table_reader.chosen.columns
    expected_good = [(line, record) for line, record in rows if len(record) == width]
    expected_bad = [(line, len(record)) for line, record in rows if len(record) != width]
    if reader.complete:
        assert good == expected_good
        assert bad == expected_bad
        assert table_reader.notes() == []
    else:  # stopped early: what it read is the start of what the csv module reads
        read = rows[: reader.records]
        assert good == [(line, record) for line, record in read if len(record) == width]
        assert bad == [(line, len(record)) for line, record in read if len(record) != width]
    return reader


def test_an_event_log_is_read_whole_with_its_lines():
    text = "t,event,user\n2019-10-01,view,1\n2019-10-02,cart,2\r\n2019-10-03,purchase,3"

    reader = assert_same_records(text)

    assert reader is not None and reader.complete
    assert fast(text)[1][-1] == (4, ["2019-10-03", "purchase", "3"])


def test_rows_with_the_wrong_number_of_fields_are_told_with_their_line():
    reader, good, bad = fast("a,b\n1,2\n3\n4,5,6\n7,8\n")

    assert reader.complete
    assert [line for line, _ in good] == [2, 5]
    assert bad == [(3, 1), (4, 3)]


@pytest.mark.parametrize(
    "text",
    [
        '"a",b\n1,2\n',  # quotes in the header
        "# a comment\na,b\n1,2\n",  # a preamble
        "\na,b\n1,2\n",  # a blank first line
    ],
)
def test_a_file_that_does_not_start_plain_is_left_to_the_csv_module(text):
    assert PlainReader.start(io.StringIO(text, newline="")) is None


@pytest.mark.parametrize(
    "text",
    [
        'a,b\n1,"x\ny"\n2,3\n',  # a quoted cell spanning lines
        "a,b\n1,2\n\na,b\n3,4\n",  # a blank line, then the header again
        "a,b\n1,2\n,\n3,4\n",  # a row with every field empty
        "a,b\n1,2\r3,4\n",  # a lone carriage return
    ],
)
def test_a_block_that_is_not_plain_stops_the_fast_reader(text):
    reader = assert_same_records(text)

    assert reader is not None and not reader.complete


def test_empty_lines_at_the_end_of_the_file_are_skipped():
    reader = assert_same_records("a,b\n1,2\n\n\r\n\n")

    assert reader.complete and reader.records == 1


def test_blocks_end_on_whole_lines(monkeypatch):
    monkeypatch.setattr(reading, "PLAIN_BLOCK_CHARS", 5)
    text = "a,b\n" + "".join(f"{n},value-{n}\n" for n in range(40))

    reader, good, _bad = fast(text)

    assert reader.complete and reader.records == 40
    assert good[39] == (41, ["39", "value-39"])


CELLS = st.text(alphabet=st.sampled_from(list('ab1 ,;"#\t\r\n\x1c\u00a0')), max_size=40)


@settings(max_examples=300, deadline=None)
@given(body=CELLS, delimiter=st.sampled_from([",", ";", "\t"]), block=st.integers(1, 12))
def test_the_fast_reader_agrees_with_the_csv_module(body, delimiter, block):
    original = reading.PLAIN_BLOCK_CHARS
    reading.PLAIN_BLOCK_CHARS = block
    try:
        assert_same_records(f"x{delimiter}y\n{body}", delimiter)
    finally:
        reading.PLAIN_BLOCK_CHARS = original
