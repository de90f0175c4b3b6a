"""Sniffing encoding, delimiter and header from the start of a file."""

import codecs
import io

import pytest

from analytics.importing.sniffing import detect_delimiter, detect_header, read_sample, sniff
from analytics.importing.sources import detect_encoding


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (b"a,b\n1,2\n", "utf-8"),
        (codecs.BOM_UTF8 + "a,é\n".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le"), "utf-16"),
        ("a,b\n1,2\n".encode("utf-16-le"), "utf-16-le"),
        ("a,b\n1,2\n".encode("utf-16-be"), "utf-16-be"),
        ("café,€\n".encode("cp1252"), "cp1252"),
        (b"caf\xe9,\x81\n", "latin-1"),
    ],
)
def test_encodings(content, encoding):
    assert detect_encoding(content) == encoding


@pytest.mark.parametrize(
    ("lines", "delimiter"),
    [
        (["a,b,c\n", "1,2,3\n"], ","),
        (["a;b;c\n", "1,5;2,5;x\n"], ";"),
        (["a\tb\n", "1\t2\n"], "\t"),
        (["a|b\n", "1|2\n"], "|"),
        (["name,note\n", 'x,"a; b; c"\n'], ","),
        (["00001 19970101 1 11.77\n", "00002 19970102 2 3.00\n"], "whitespace"),
    ],
)
def test_delimiters(lines, delimiter):
    assert detect_delimiter(lines) == delimiter


def test_a_header_is_text_and_a_data_row_is_numbers_and_dates():
    assert detect_header(["event_time", "price", "user_id"])
    assert detect_header(["", "score", "comment"])
    assert not detect_header(["00001", "19970101", "1", "11.77"])


def test_sniffing_a_ga4_export_skips_its_preamble():
    content = b"# Account: x\n# End date: 20251231\nEvent name,Event count\npurchase,3\n"

    options = sniff(io.BytesIO(content))
    sample = read_sample(io.BytesIO(content), options)

    assert options["delimiter"] == ","
    assert options["header"] is True
    assert sample.columns == ["Event name", "Event count"]
    assert sample.rows == [["purchase", "3"]]
    assert sample.lines == [4]


def test_a_utf8_file_with_a_stray_cp1252_byte_is_still_read():
    from analytics.importing import sources

    content = b"a,b\n1,caf" + b"\xe9\n"
    sources.reset_fallback_count()

    stream = sources.text_stream(io.BytesIO(content), "utf-8")

    assert stream.read() == "a,b\n1,café\n"
    assert sources.fallback_count() == 1
