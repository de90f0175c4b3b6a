"""Reading the records of one table of a text file, with the physical line each starts on.

A file may open with `#` comment lines (GA4 downloads), hold several tables separated by a blank
line (a GA4 "Reports snapshot", a Universal Analytics export with a second table), or be JSON
Lines (Mixpanel). The reader walks it record by record, never holding more than one record, and
tells which table it read and what it skipped.

Most big files are plain: a header on the first line, then one record per line, no quotes, no
blank lines (event logs). `PlainReader` reads those a block of lines at a time with pyarrow's CSV
parser, which gives the same records as `TableReader` on such text (see its docstring) without
Python running per row; at the first block that is not plain it stops and `TableReader` reads the
rest.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analytics.importing.errors import ImportRefused

WHITESPACE = "whitespace"

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class TableInfo:
    """One table of a file: where its header is, its columns, and the `#` title lines above it."""

    index: int
    line: int  # the header's line (or the first row's line, for a file without a header)
    columns: list[str]
    title: str = ""
    rows: int = 0

    def describe(self) -> str:
        heading = f" ({self.title})" if self.title else ""
        shown = ", ".join(self.columns[:4]) + (", …" if len(self.columns) > 4 else "")
        return f"table {self.index + 1} at line {self.line}{heading}: {shown}"


def unique_columns(header: list[str]) -> list[str]:
    """Column names as given, with empty ones named column_N and repeated ones numbered."""
    columns: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(header, start=1):
        name = raw.strip().lstrip("\ufeff") or f"column_{position}"
        candidate, copy = name, 2
        while candidate in seen:
            candidate = f"{name} ({copy})"
            copy += 1
        seen.add(candidate)
        columns.append(candidate)
    return columns


def _is_comment(record: list[str]) -> bool:
    return bool(record) and record[0].lstrip().startswith("#")


def _is_blank(record: list[str]) -> bool:
    if not record:
        return True
    if record[0] and not record[0].isspace():
        return False
    return all(not cell or cell.isspace() for cell in record)


@dataclass
class _Walk:
    """The state of a walk through a file's tables."""

    tables: list[TableInfo] = field(default_factory=list)
    blank_rows: int = 0


def _delimited_records(stream: TextIO, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of every record; comment lines before the first record are skipped."""
    offset = 0
    first = ""
    while True:
        line = stream.readline()
        if not line:
            return
        if line.lstrip().startswith("#") or not line.strip():
            offset += 1
            yield offset, ["#" + line.strip().lstrip("#")] if line.strip() else []
            continue
        first = line
        break
    lines = itertools.chain([first], stream)
    if delimiter == WHITESPACE:
        for number, text in enumerate(lines, start=offset + 1):
            yield number, text.split()
        return
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    consumed = 0
    try:
        for record in reader:
            yield offset + consumed + 1, record
            consumed = reader.line_num
    except csv.Error as error:  # a lone carriage return inside a line, for one
        raise ImportRefused(
            f"Line {offset + consumed + 1} cannot be read as CSV ({error}). Save the file again "
            "as CSV from the program that made it, then upload that file."
        ) from None


def _jsonl_records(stream: TextIO, columns: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of JSON Lines: nested values as JSON text, like a CSV with JSON cells."""
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            yield number, []
            continue
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            yield number, [text.strip()[:200]]  # one field: reported as the wrong number of fields
            continue
        yield number, [_cell(document.get(column)) for column in columns]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def jsonl_columns(lines: list[str]) -> list[str]:
    """The top-level keys of the JSON objects in these lines, in the order first seen."""
    columns: dict[str, None] = {}
    for text in lines:
        try:
            document = json.loads(text)
        except ValueError:
            continue
        if isinstance(document, dict):
            columns.update(dict.fromkeys(document))
    return list(columns)


class TableReader:
    """The data rows of one table of a file, as (line, fields), and notes on what was skipped."""

    def __init__(
        self,
        stream: TextIO,
        *,
        delimiter: str = ",",
        header: bool = True,
        table: int = 0,
        jsonl_keys: list[str] | None = None,
    ) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.header = header
        self.table = table
        self.jsonl_keys = jsonl_keys
        self.columns: list[str] = list(jsonl_keys) if jsonl_keys is not None else []
        self.walk = _Walk()
        self.following: TableInfo | None = None  # the table after the chosen one, if any
        self.comment_lines = 0

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        if self.jsonl_keys is not None:
            return _jsonl_records(self.stream, self.jsonl_keys)
        return _delimited_records(self.stream, self.delimiter)

    def tables(self) -> Iterator[tuple[TableInfo, int, list[str]]]:
        """Every data row of every table: (its table, its line, its fields)."""
        records = self._records()
        if self.jsonl_keys is not None:
            info = TableInfo(index=0, line=1, columns=list(self.jsonl_keys))
            self.walk.tables.append(info)
            for line, record in records:
                if _is_blank(record):
                    continue
                info.rows += 1
                yield info, line, record
            return
        titles: list[str] = []
        current: TableInfo | None = None
        width = 0
        after_blank = False
        header_record: list[str] = []
        for line, record in records:
            if current is None or (after_blank and _is_comment(record)):
                if _is_blank(record):
                    continue
                if _is_comment(record):
                    self.comment_lines += 1
                    text = ",".join(record).lstrip("#").strip(" -")
                    if text:
                        titles.append(text)
                    current = None
                    after_blank = False
                    continue
                current = self._start(line, record, titles)
                titles = []
                width, header_record, after_blank = len(record), record, False
                if not self.header:
                    current.rows += 1
                    yield current, line, record
                continue
            if _is_blank(record):
                if record:
                    self.walk.blank_rows += 1
                else:
                    after_blank = True
                continue
            if after_blank:
                after_blank = False
                if record == header_record:
                    continue
                if len(record) != width:
                    current = self._start(line, record, titles)
                    titles = []
                    width, header_record = len(record), record
                    if not self.header:
                        current.rows += 1
                        yield current, line, record
                    continue
            current.rows += 1
            yield current, line, record

    def _start(self, line: int, record: list[str], titles: list[str]) -> TableInfo:
        if self.header:
            columns = unique_columns(record)
        else:
            columns = [f"column_{position}" for position in range(1, len(record) + 1)]
        info = TableInfo(
            index=len(self.walk.tables), line=line, columns=columns, title=" · ".join(titles[-2:])
        )
        self.walk.tables.append(info)
        return info

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """The rows of the chosen table; stops at the table after it."""
        for info, line, record in self.tables():
            if info.index < self.table:
                continue
            if info.index > self.table:
                self.following = info
                return
            self.columns = info.columns
            yield line, record

    def tables_sample(self) -> Iterator[tuple[int, list[str]]]:
        """The rows of the chosen table, walking on to the end to find every table (samples)."""
        for info, line, record in self.tables():
            if info.index == self.table:
                self.columns = info.columns
                yield line, record

    @property
    def chosen(self) -> TableInfo | None:
        return self.walk.tables[self.table] if len(self.walk.tables) > self.table else None

    def notes(self) -> list[str]:
        """What the reader skipped, in words for the admin."""
        notes = []
        if self.comment_lines:
            notes.append(f"Skipped {self.comment_lines} comment line(s) starting with #.")
        for info in self.walk.tables[: self.table]:
            notes.append(f"Skipped {info.describe()}.")
        if self.following is not None:
            notes.append(
                f"The file holds more tables after the one imported; the next is "
                f"{self.following.describe()}. Pick it in the options to import it instead."
            )
        if self.walk.blank_rows:
            notes.append(f"Skipped {self.walk.blank_rows} row(s) with every field empty.")
        return notes


# -- plain files, a block of lines at a time --------------------------------------------------

PLAIN_BLOCK_CHARS = 8 * 1024 * 1024


@dataclass
class Block:
    """The records of a run of plain lines: one text column per column, and their lines."""

    table: pa.Table  # the records with the right number of fields
    lines: np.ndarray  # the line of each of them
    bad: list[tuple[int, int]]  # (line, number of fields) of the records with a wrong number
    records: int  # every record of the block, good and bad


class PlainReader:
    """The data rows of a plain delimited file, read a block of lines at a time by pyarrow.

    Plain means: the header on line 1, then one record per line, with no quote character, no
    empty line, no record whose fields are all blank, no NUL and no lone carriage return. On such
    text a record is its line split at the delimiter, exactly what `TableReader` (the csv module)
    gives, so both readers yield the same records on the same lines. `blocks()` stops before the
    first block that is not plain, leaving `complete` false: the caller then reads the file again
    with `TableReader`, skipping the `records` rows read here. Empty lines at the very end of the
    file are skipped, as `TableReader` skips them.
    """

    def __init__(self, stream: TextIO, delimiter: str, header: list[str]) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.columns = unique_columns(header)
        self.records = 0
        self.complete = False
        self._names = [f"c{position}" for position in range(len(header))]

    @classmethod
    def start(
        cls,
        stream: TextIO,
        *,
        delimiter: str = ",",
        header: bool = True,
        table: int = 0,
        jsonl: bool = False,
    ) -> PlainReader | None:
        """A reader past the header line, or None when the file does not start plain.

        None consumes the first line of `stream`: open the file again for `TableReader`.
        """
        if not header or table or jsonl or len(delimiter) != 1 or delimiter in '\r\n"':
            return None
        first = stream.readline()
        line = first[:-2] if first.endswith("\r\n") else first.rstrip("\n")
        if not line or any(char in line for char in '"\r\x00') or _is_comment([line]):
            return None
        fields = line.split(delimiter)
        if _is_blank(fields):
            return None
        return cls(stream, delimiter, fields)

    def blocks(self) -> Iterator[Block]:
        """Blocks of records until the end of the file or the first block that is not plain."""
        pending = ""
        line = 2
        while True:
            chunk = self.stream.read(PLAIN_BLOCK_CHARS)
            at_end = not chunk
            pending += chunk
            cut = len(pending) if at_end else pending.rfind("\n") + 1
            ready, pending = pending[:cut], pending[cut:]
            body = ready.rstrip("\r\n")
            if not body:  # no whole line yet, or only empty lines: the end, or not plain
                pending = ready + pending
                if at_end:
                    self.complete = True
                    return
                continue
            # empty lines after the last record wait in `pending`: the end of the file, or, when
            # more lines follow them, the start of a block that is not plain
            ending = ready[len(body) :]
            keep = 2 if ending.startswith("\r\n") else min(len(ending), 1)
            ready, pending = body + ending[:keep], ending[keep:] + pending
            block = self._parse(ready, line)
            if block is None:
                return
            self.records += block.records
            line += block.records
            yield block
            if at_end:
                self.complete = True
                return

    def _parse(self, text: str, first_line: int) -> Block | None:
        if "\r" in text:
            if text.count("\r") != text.count("\r\n"):
                return None
            text = text.replace("\r\n", "\n")
        if '"' in text or "\x00" in text or "\n\n" in text or text.startswith("\n"):
            return None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        records = text.count("\n") + (0 if text.endswith("\n") else 1)
        wrong: list[str] = []

        def collect(row: pacsv.InvalidRow) -> str:
            wrong.append(row.text)
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=self._names, block_size=len(data) + 1),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                quote_char=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=collect,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self._names, pa.string()),
                strings_can_be_null=False,
                check_utf8=False,
            ),
        )
        lines = np.arange(first_line, first_line + records, dtype=np.int64)
        bad: list[tuple[int, int]] = []
        if wrong:  # rare: find their lines (pyarrow does not tell them when reading in threads)
            split = text.split("\n")[:records]
            width = len(self._names)
            offsets = [
                offset
                for offset, record in enumerate(split)
                if record.count(self.delimiter) + 1 != width
            ]
            if any(_is_blank(split[offset].split(self.delimiter)) for offset in offsets):
                return None
            bad = [
                (first_line + offset, split[offset].count(self.delimiter) + 1) for offset in offsets
            ]
            lines = np.delete(lines, offsets)
        if table.num_rows != len(lines) or _has_blank_record(table):
            return None
        return Block(table=table, lines=lines, bad=bad, records=records)


def _blank_cells(column: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """Which of `rows` hold an empty or all-whitespace cell (as Python's str.isspace says)."""
    values = column.take(pa.array(rows))
    # a cell starting with a letter or a digit is not blank: only the others are looked at
    maybe = ~pc.utf8_is_alnum(pc.utf8_slice_codeunits(values, 0, 1)).to_numpy(zero_copy_only=False)
    blank = np.zeros(len(rows), dtype=bool)
    if not maybe.any():
        return blank
    candidates = values.filter(pa.array(maybe))
    texts = [text for text in pc.unique(candidates).to_pylist() if not text or text.isspace()]
    if texts:
        found = pc.is_in(candidates, value_set=pa.array(texts, pa.string()))
        blank[np.flatnonzero(maybe)] = found.to_numpy(zero_copy_only=False)
    return blank


def _has_blank_record(table: pa.Table) -> bool:
    """Whether a record has every field empty or blank (TableReader skips those)."""
    rows = np.arange(table.num_rows)
    for column in table.columns:
        rows = rows[_blank_cells(column, rows)]
        if rows.size == 0:
            return False
    return True
