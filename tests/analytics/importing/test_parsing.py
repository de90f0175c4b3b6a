"""Numbers and dates as exports write them."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.importing.parsing import (
    DateFormat,
    detect_date_format,
    detect_decimal,
    parse_dates,
    parse_numbers,
)


def numbers(values, decimal="."):
    parsed, invalid = parse_numbers(pd.Series(values, dtype="str"), decimal)
    return [
        None if bad else (None if pd.isna(value) else value)
        for value, bad in zip(parsed, invalid, strict=True)
    ]


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1,234.50", ".", 1234.5),
        ("3,215", ".", 3215.0),
        ("$12", ".", 12.0),
        ("£0.00", ".", 0.0),
        ("12.00 €", ".", 12.0),
        ("USD 99.90", ".", 99.9),
        ("96.02%", ".", 0.9602),
        ("(12.00)", ".", -12.0),
        ("-5", ".", -5.0),
        ("00:00:12", ".", 12.0),
        ("01:02:03", ".", 3723.0),
        ("1.234,50 €", ",", 1234.5),
        ("2.546", ",", 2546.0),
        ("99,88%", ",", 0.9988),
        ("US$ 0,00", ",", 0.0),
        ("12,5", ",", 12.5),
        ("1 234,5", ",", 1234.5),
        ("1e3", ".", 1000.0),
    ],
)
def test_numbers_in_the_shapes_exports_write(text, decimal, expected):
    assert numbers([text], decimal) == [pytest.approx(expected)]


@pytest.mark.parametrize("text", ["twelve", "1,2,3.4.5", "12,5", "inf", "1e400", "--3", "$"])
def test_text_that_is_not_a_number_is_invalid(text):
    assert numbers([text], ".") == [None]
    _parsed, invalid = parse_numbers(pd.Series([text], dtype="str"), ".")
    assert invalid.tolist() == [True]


@pytest.mark.parametrize("text", ["", "  ", "NA", "N/A", "null", "-"])
def test_empty_and_missing_markers_are_no_value_not_an_error(text):
    parsed, invalid = parse_numbers(pd.Series([text], dtype="str"), ".")
    assert parsed.isna().tolist() == [True]
    assert invalid.tolist() == [False]


def test_the_decimal_comma_is_detected_from_the_values():
    assert detect_decimal(["12,50", "3,99", "x"]) == ","
    assert detect_decimal(["12.50", "1,234.00"]) == "."
    assert detect_decimal(["1,234"], delimiter=";") == ","
    assert detect_decimal(["1,234"], delimiter=",") == "."


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_any_amount_with_thousands_separators_round_trips(amount):
    point = f"{amount:,.2f}"
    comma = point.replace(",", "_").replace(".", ",").replace("_", ".")
    assert numbers([point], ".") == [pytest.approx(float(amount))]
    assert numbers([comma], ",") == [pytest.approx(float(amount))]
    assert numbers([f"€{point}"], ".") == [pytest.approx(float(amount))]


@given(st.integers(min_value=0, max_value=10**7))
def test_any_percentage_is_a_fraction(value):
    percent = value / 100
    assert numbers([f"{percent:.2f}%"], ".") == [pytest.approx(round(percent, 2) / 100)]


def dates(values, date_format=None):
    if date_format is None:
        date_format, _guess = detect_date_format(values)
    parsed, invalid = parse_dates(pd.Series(values, dtype="str"), date_format)
    return [
        None if bad else (None if pd.isna(v) else v.to_pydatetime())
        for v, bad in zip(parsed, invalid, strict=True)
    ]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2019-10-01 00:00:00 UTC"], utc(2019, 10, 1)),
        (["2026-04-05 21:06:21 +0400"], utc(2026, 4, 5, 17, 6, 21)),
        (["2024-01-01T10:00:00.5-05:00"], utc(2024, 1, 1, 15, 0, 0, 500000)),
        (["2024-01-01 10:00"], utc(2024, 1, 1, 10)),
        (["2024-01-01"], utc(2024, 1, 1)),
        (["20210127"], utc(2021, 1, 27)),
        (["1611789078248882"], utc(2021, 1, 27, 23, 11, 18, 248882)),
        (["1611789078248"], utc(2021, 1, 27, 23, 11, 18, 248000)),
        (["1611789078"], utc(2021, 1, 27, 23, 11, 18)),
        (["1611789078.5"], utc(2021, 1, 27, 23, 11, 18, 500000)),
    ],
)
def test_dates_in_the_shapes_exports_write(values, expected):
    assert dates(values) == [expected]


def test_day_first_is_detected_when_a_day_is_over_12():
    values = ["16/04/2015", "01/05/2015"]
    date_format, guessed = detect_date_format(values)
    assert (date_format, guessed) == (DateFormat("dmy"), False)
    assert dates(values) == [utc(2015, 4, 16), utc(2015, 5, 1)]


def test_month_first_is_detected_when_a_second_part_is_over_12():
    values = ["12/1/2010 8:26", "1/13/2011 10:00"]
    date_format, guessed = detect_date_format(values)
    assert (date_format, guessed) == (DateFormat("mdy"), False)
    assert dates(values) == [utc(2010, 12, 1, 8, 26), utc(2011, 1, 13, 10)]


def test_ambiguous_slashed_dates_are_a_guess_that_says_so():
    assert detect_date_format(["01/02/2020"]) == (DateFormat("mdy"), True)
    assert detect_date_format(["01.02.2020"]) == (DateFormat("dmy"), True)


def test_unparseable_dates_are_invalid_and_empty_ones_are_missing():
    parsed, invalid = parse_dates(
        pd.Series(["tomorrow", "", "2024-13-45"], dtype="str"), DateFormat("iso")
    )
    assert invalid.tolist() == [True, False, True]
    assert parsed.isna().all()


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_any_instant_written_with_any_offset_is_the_same_utc_instant(moment, minutes):
    offset = timedelta(minutes=minutes)
    local = (moment + offset).replace(tzinfo=None)
    sign = "+" if minutes >= 0 else "-"
    text = f"{local:%Y-%m-%dT%H:%M:%S.%f}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    assert dates([text], DateFormat("iso")) == [moment]


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_any_epoch_in_microseconds_is_exact(moment):
    micros = int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    assert dates([str(micros)]) == [moment]
