"""Sniffing how a file is written: compression, encoding, JSON Lines or delimiter, header, tables.

Only the first megabyte (decompressed) is looked at. A file that cannot be read at all (binary,
a web page, an Excel workbook, empty, a header without rows) is refused here with a message that
says what to do, before anything is stored.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from analytics.importing.errors import ImportRefused
from analytics.importing.reading import WHITESPACE, TableInfo, TableReader, jsonl_columns
from analytics.importing.sources import ENCODING_LABELS, detect_encoding, open_binary

SAMPLE_BYTES = 1024 * 1024
SAMPLE_ROWS = 2000
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", WHITESPACE: "spaces"}
DATA_LIKE = re.compile(r"^[\s\d.,:/+\-TZ%$€£'()]*\d[\s\d.,:/+\-TZ%$€£'()]*$")


@dataclass
class Sample:
    """The start of a file as read with some options: its tables, columns and first rows."""

    options: dict[str, Any]
    columns: list[str]
    rows: list[list[str]]  # the first rows of the chosen table, as text
    lines: list[int]  # the line each row starts on
    tables: list[TableInfo]
    notes: list[str] = field(default_factory=list)
    complete: bool = False  # the whole file fit in the sample


def _read_head(raw: BinaryIO) -> tuple[bytes, bool, str, str]:
    with open_binary(raw) as (binary, compression, member):
        head = binary.read(SAMPLE_BYTES + 1)
    complete = len(head) <= SAMPLE_BYTES
    return head[:SAMPLE_BYTES], complete, compression, member


def _decode(head: bytes, encoding: str, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=complete)
    if not complete:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut > 0 else text
    return text


def _refuse_unreadable(head: bytes, text: str, encoding: str) -> None:
    if head.startswith(b"%PDF"):
        raise ImportRefused("This is a PDF document, not a CSV export. Export the data as CSV.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused(
            "This is an old Excel workbook (.xls), not a CSV. Open it and save the sheet as CSV."
        )
    if not text.strip():
        raise ImportRefused("The file is empty. Export the data again and upload that file.")
    if "\x00" in text or (not encoding.startswith("utf-16") and b"\x00" in head):
        raise ImportRefused(
            "This is not a text file (it holds binary data). Upload the CSV export itself."
        )
    controls = sum(1 for char in text[:20000] if ord(char) < 32 and char not in "\t\r\n\f")
    if controls > max(5, len(text[:20000]) // 100):
        raise ImportRefused(
            "This is not a text file (it holds binary data). Upload the CSV export itself."
        )
    start = text.lstrip("\ufeff \t\r\n")[:200].lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml", "<table")):
        raise ImportRefused(
            "This is a web page (HTML), not a CSV export — perhaps the download page was saved "
            "instead of the file. Download the export again as CSV."
        )


def _table_lines(text: str) -> list[str]:
    """The lines of the first table: after the comment lines, up to its first blank line."""
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and (
        lines[start].lstrip().startswith("#") or not lines[start].strip()
    ):
        start += 1
    table = []
    for line in lines[start : start + 300]:
        if not line.strip():
            break
        table.append(line)
    return table


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter whose split gives the same number (≥ 2) of fields on the most rows."""
    best, best_score = "", (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        if not widths or widths[0] < 2:
            continue
        consistency = sum(1 for width in widths if width == widths[0]) / len(widths)
        score = (round(consistency, 2), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    if best and best_score[0] >= 0.8:
        return best
    widths = [len(line.split()) for line in lines if line.strip()]
    if widths and widths[0] >= 2 and Counter(widths).most_common(1)[0][1] >= 0.9 * len(widths):
        return WHITESPACE
    return best or ","


def detect_header(first: list[str]) -> bool:
    """Whether a first record is a header: most of its cells are not numbers or dates."""
    cells = [cell.strip() for cell in first if cell.strip()]
    if not cells:
        return True
    data_like = sum(1 for cell in cells if DATA_LIKE.match(cell))
    return data_like * 2 < len(cells)


def _looks_jsonl(text: str) -> bool:
    first = text.lstrip("\ufeff \t\r\n").split("\n", 1)[0].strip()
    if not first.startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def sniff(raw: BinaryIO) -> dict[str, Any]:
    """How to read the file: compression, encoding, JSON Lines or delimiter, header."""
    head, complete, compression, member = _read_head(raw)
    encoding = detect_encoding(head)
    text = _decode(head, encoding, complete)
    _refuse_unreadable(head, text, encoding)
    options: dict[str, Any] = {
        "compression": compression,
        "member": member,
        "encoding": encoding,
        "table": 0,
    }
    if _looks_jsonl(text):
        options.update(jsonl=True, delimiter="", header=True)
        return options
    lines = _table_lines(text)
    if not lines:
        raise ImportRefused(
            "The file holds only comment lines (starting with #) and no table of data."
        )
    delimiter = detect_delimiter(lines)
    if delimiter == WHITESPACE:
        first = lines[0].split()
    else:
        first = next(csv.reader(lines[:1], delimiter=delimiter), [])
    options.update(jsonl=False, delimiter=delimiter, header=detect_header(first))
    return options


def read_sample(raw: BinaryIO, options: dict[str, Any], *, rows: int = SAMPLE_ROWS) -> Sample:
    """The first rows of the chosen table, read with these options."""
    head, complete, _compression, _member = _read_head(raw)
    text = _decode(head, options["encoding"], complete)
    stream = io.StringIO(text.lstrip("\ufeff"))
    jsonl_keys = None
    if options.get("jsonl"):
        jsonl_keys = jsonl_columns(text.splitlines()[:1000])
    reader = TableReader(
        stream,
        delimiter=options.get("delimiter") or ",",
        header=options.get("header", True),
        table=int(options.get("table") or 0),
        jsonl_keys=jsonl_keys,
    )
    sample_rows, sample_lines = [], []
    for line, record in reader.tables_sample():
        if len(sample_rows) < rows:
            sample_rows.append(record)
            sample_lines.append(line)
    tables = reader.walk.tables
    if not tables:
        raise ImportRefused(
            "The file holds only comment lines (starting with #) and no table of data."
        )
    table = int(options.get("table") or 0)
    if table >= len(tables):
        raise ImportRefused(
            f"The file holds {len(tables)} table(s) in its first megabyte; there is no "
            f"table {table + 1}."
        )
    chosen = tables[table]
    if chosen.rows == 0 and (complete or len(tables) > table + 1):
        raise ImportRefused(
            "The file has a header row but no data rows. Export it again with the data."
        )
    notes = []
    if len(tables) > 1:
        others = "; ".join(info.describe() for info in tables if info.index != table)
        notes.append(
            f"The file holds {len(tables)} tables; importing table {table + 1}. "
            f"Also found: {others}."
        )
    return Sample(
        options=options,
        columns=chosen.columns,
        rows=sample_rows,
        lines=sample_lines,
        tables=tables,
        notes=notes,
        complete=complete,
    )


def describe_options(options: dict[str, Any]) -> str:
    """How a file is read, in words: 'UTF-8 with BOM, semicolon-delimited, header row'."""
    parts = [ENCODING_LABELS.get(options.get("encoding", ""), options.get("encoding", ""))]
    if options.get("compression"):
        parts.insert(0, "gzip" if options["compression"] == "gzip" else "zip")
    if options.get("jsonl"):
        parts.append("JSON Lines")
    else:
        parts.append(f"{DELIMITER_LABELS.get(options.get('delimiter', ','), '?')}-delimited")
        parts.append("header row" if options.get("header", True) else "no header row")
    return ", ".join(part for part in parts if part)
