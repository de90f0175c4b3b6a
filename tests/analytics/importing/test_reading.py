"""Reading one table of a file, with the line each row starts on."""

import io

from analytics.importing.reading import TableReader, unique_columns


def read(text, **options):
    reader = TableReader(io.StringIO(text), **options)
    return list(reader), reader


def test_quoted_cells_spanning_lines_keep_the_line_the_row_starts_on():
    rows, reader = read('a,b\n1,"x\ny\nz"\n2,w\n')

    assert rows == [(2, ["1", "x\ny\nz"]), (5, ["2", "w"])]
    assert reader.columns == ["a", "b"]


def test_a_hash_starting_a_data_row_is_data_not_a_comment():
    rows, _reader = read("# preamble\nName,Total\n#1001,10\n#1002,20\n")

    assert rows == [(3, ["#1001", "10"]), (4, ["#1002", "20"])]


def test_a_repeated_header_after_a_blank_line_continues_the_table():
    rows, reader = read("a,b\n1,2\n\na,b\n3,4\n")

    assert [line for line, _ in rows] == [2, 5]
    assert reader.following is None


def test_ga4_snapshot_sections_are_separate_tables():
    text = (
        "# Reports snapshot\n# Start date: 20250101\nSession source,Sessions\ngoogle,10\n\n"
        "# Start date: 20250101\n# Users by Country\nCountry,Active users\nDE,5\n"
    )

    rows, reader = read(text)
    assert rows == [(4, ["google", "10"])]
    assert "Country, Active users" in reader.notes()[-1]

    rows, reader = read(text, table=1)
    assert rows == [(9, ["DE", "5"])]
    assert reader.columns == ["Country", "Active users"]


def test_rows_with_every_field_empty_are_skipped_and_counted():
    rows, reader = read("a,b\n1,2\n,\n3,4\n")

    assert [line for line, _ in rows] == [2, 4]
    assert "Skipped 1 row(s) with every field empty." in reader.notes()


def test_columns_without_a_name_or_with_the_same_name_are_told_apart():
    assert unique_columns(["", "id", "id", " x "]) == ["column_1", "id", "id (2)", "x"]


def test_json_lines_become_rows_with_json_cells():
    text = '{"event": "a", "properties": {"time": 1}}\n\nnot json\n'

    rows, _reader = read(text, jsonl_keys=["event", "properties"])

    assert rows == [(1, ["a", '{"time":1}']), (3, ["not json"])]
