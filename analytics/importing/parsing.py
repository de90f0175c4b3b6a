"""Numbers and dates as exports write them, parsed a whole column at a time.

Numbers: thousands separators, a decimal point or comma, currency symbols and codes, `%` (read as
a fraction, as GA4 writes rates), accounting negatives `(12.00)`, `hh:mm:ss` durations (seconds).
Dates: ISO 8601 with or without an offset (converted to UTC; naive means UTC), `... UTC`, day-first
or month-first (detected from the values), `YYYYMMDD`, and epoch seconds, milliseconds,
microseconds or nanoseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# -- numbers -----------------------------------------------------------------------------------

CURRENCY = re.compile(
    r"^\s*(?:[A-Z]{1,3}\s?)?[$£€¥₹₩₽₺₪฿₫₴₦]\s*|\s*[$£€¥₹₩₽₺₪฿₫₴₦]\s*$"
    r"|^\s*(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|SEK|NOK|DKK|PLN|CZK|BRL|INR|kr|zł|Kč|R)\s+"
    r"|\s+(?:USD|EUR|GBP|CHF|JPY|CAD|AUD|SEK|NOK|DKK|PLN|CZK|BRL|INR|kr|zł|Kč)\s*$"
)
SPACES = re.compile(r"[\s\u00a0\u202f]")
POINT_DECIMAL = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")
COMMA_DECIMAL = re.compile(r"^[+-]?(?:\d{1,3}(?:[.']\d{3})+|\d+)(?:,\d+)?$|^[+-]?,\d+$")
DURATION = re.compile(r"^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$")
# What spreadsheets and R write for "no value" in a number or date column.
NULL_TOKENS = frozenset({"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "(null)", "-"})
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def detect_decimal(values: Iterable[str], delimiter: str = ",") -> str:
    """',' when the values are written with a decimal comma, else '.'."""
    comma = point = 0
    for raw in values:
        value = CURRENCY.sub("", SPACES.sub("", str(raw))).rstrip("%")
        if re.fullmatch(r"[+-]?\d+,\d{1,2}|[+-]?\d+,\d{4,}|[+-]?\d{1,3}(\.\d{3})+,\d+", value):
            comma += 1
        elif re.fullmatch(r"[+-]?\d+\.\d{1,2}|[+-]?\d+\.\d{4,}|[+-]?\d{1,3}(,\d{3})+\.\d+", value):
            point += 1
    if comma > point:
        return ","
    if point > comma:
        return "."
    return "," if delimiter == ";" else "."


def parse_numbers(values: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """(floats, invalid): NaN where empty; `invalid` marks non-empty text that is not a number."""
    text = values.astype("str").str.strip()
    empty = text.eq("") | text.isin(NULL_TOKENS)
    numbers = pd.to_numeric(text.where(~empty), errors="coerce").astype("float64")
    slow = ~np.isfinite(numbers) & ~empty
    if decimal == ",":
        # "2.546" is two thousand five hundred and forty-six in a decimal-comma file.
        slow |= text.str.contains(r"^[+-]?\d{1,3}\.\d{3}$", regex=True) & ~empty
    numbers = numbers.where(~slow)
    if slow.any():
        numbers[slow] = [_parse_one(value, decimal) for value in text[slow]]
    invalid = numbers.isna() & ~empty
    return numbers, invalid


def _parse_one(raw: str, decimal: str) -> float:
    """One number in any of the shapes exports write, or NaN."""
    value = raw.strip()
    negative = value.startswith("(") and value.endswith(")")
    if negative:
        value = value[1:-1]
    value = CURRENCY.sub("", value).strip()
    percent = value.endswith("%")
    if percent:
        value = value[:-1].strip()
    value = SPACES.sub("", value)
    if value.startswith("-") and CURRENCY.match(value[1:]):
        value = "-" + CURRENCY.sub("", value[1:])
    duration = DURATION.match(value)
    if duration:
        hours, minutes, seconds = duration.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if decimal == ",":
        if not COMMA_DECIMAL.match(value):
            return float("nan")
        value = value.replace(".", "").replace("'", "").replace(",", ".")
    else:
        if not POINT_DECIMAL.match(value) and not PLAIN_NUMBER.match(value):
            return float("nan")
        value = value.replace(",", "")
    try:
        number = float(value)
    except ValueError:
        return float("nan")
    if not np.isfinite(number):
        return float("nan")
    if negative:
        number = -number
    return number / 100 if percent else number


def looks_numeric(values: Iterable[str], decimal: str = ".") -> float:
    """The share of the non-empty values that are numbers (durations and % included)."""
    present = [value for value in values if str(value).strip()]
    if not present:
        return 0.0
    _numbers, invalid = parse_numbers(pd.Series(present, dtype="str"), decimal)
    return 1 - invalid.sum() / len(present)


# -- dates -------------------------------------------------------------------------------------

# The largest unit that puts a column's typical value between 1970 and 2200 is its unit.
EPOCH_UNITS = (("s", 1), ("ms", 1e3), ("us", 1e6), ("ns", 1e9))
SECONDS_PER_YEAR = 365.25 * 24 * 3600
SLASHED = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:[ T,]+(.*))?$")
COMPACT_DATE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
ISO_START = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")
# A plain pattern without \s (not a compiled one), so that pyarrow runs it, not Python per row.
TRAILING_UTC = r"(?i)[ \t]*(?:UTC|GMT)$"


@dataclass(frozen=True)
class DateFormat:
    """How a column writes its dates: 'iso', 'epoch', 'compact', 'dmy', 'mdy' (+ epoch unit)."""

    kind: str
    unit: str = ""

    def describe(self) -> str:
        return {
            "iso": "ISO 8601 (offsets converted to UTC; no offset means UTC)",
            "epoch": f"seconds since 1970 ({self.unit})",
            "compact": "YYYYMMDD",
            "dmy": "day first (31/12/2024)",
            "mdy": "month first (12/31/2024)",
        }.get(self.kind, self.kind)


def detect_date_format(values: Iterable[str]) -> tuple[DateFormat | None, bool]:
    """The format of a column's dates from a sample, and whether day/month order was a guess."""
    present = [str(value).strip() for value in values if str(value).strip()]
    if not present:
        return None, False
    numeric = [value for value in present if re.fullmatch(r"\d+(\.\d+)?", value)]
    if len(numeric) >= 0.9 * len(present):
        if all(COMPACT_DATE.match(value) for value in numeric):
            return DateFormat("compact"), False
        magnitude = float(np.median([float(value) for value in numeric]))
        if magnitude < 1e8:  # 1973 in seconds: smaller numbers are not timestamps
            return None, False
        for unit, per_second in EPOCH_UNITS:
            year = 1970 + magnitude / per_second / SECONDS_PER_YEAR
            if 1970 <= year <= 2200:
                return DateFormat("epoch", unit), False
        return None, False
    if sum(1 for value in present if ISO_START.match(value)) >= 0.9 * len(present):
        return DateFormat("iso"), False
    slashed = [SLASHED.match(value) for value in present]
    matched = [match for match in slashed if match]
    if len(matched) >= 0.9 * len(present):
        first_over_12 = any(int(match.group(1)) > 12 for match in matched)
        second_over_12 = any(int(match.group(2)) > 12 for match in matched)
        if first_over_12 and not second_over_12:
            return DateFormat("dmy"), False
        if second_over_12 and not first_over_12:
            return DateFormat("mdy"), False
        dotted = any("." in match.group(0)[:6] for match in matched)
        return DateFormat("dmy" if dotted else "mdy"), True
    return None, False


def parse_dates(values: pd.Series, date_format: DateFormat | None) -> tuple[pd.Series, pd.Series]:
    """(UTC datetimes, invalid): NaT where empty; `invalid` marks non-empty text that is no date."""
    text = values.astype("str").str.strip()
    empty = text.eq("") | text.isin(NULL_TOKENS)
    kind = date_format.kind if date_format else "iso"
    if kind == "epoch":
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}[date_format.unit]
        micros = (numbers * scale).round()
        in_range = micros.abs() < 8e18
        parsed = pd.to_datetime(micros.where(in_range), unit="us", utc=True, errors="coerce")
    elif kind == "compact":
        parsed = pd.to_datetime(text.where(~empty), format="%Y%m%d", utc=True, errors="coerce")
    elif kind in ("dmy", "mdy"):
        parsed = _parse_slashed(text.where(~empty), day_first=kind == "dmy")
    else:
        cleaned = text.str.replace(TRAILING_UTC, "", regex=True).where(~empty)
        parsed = pd.to_datetime(cleaned, format="ISO8601", utc=True, errors="coerce")
        if parsed.isna().any():
            again = parsed.isna() & ~empty
            if again.any():
                parsed = parsed.copy()
                parsed[again] = pd.to_datetime(
                    cleaned[again], format="mixed", utc=True, errors="coerce"
                )
    parsed = parsed.astype("datetime64[us, UTC]")
    invalid = parsed.isna() & ~empty
    return parsed, invalid


def _parse_slashed(text: pd.Series, *, day_first: bool) -> pd.Series:
    parts = text.str.extract(SLASHED)
    day, month = (parts[0], parts[1]) if day_first else (parts[1], parts[0])
    year = parts[2].where(parts[2].str.len() != 2, "20" + parts[2])
    iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    time = parts[3].fillna("")
    iso = iso.where(time.eq(""), iso + " " + time.str.replace(TRAILING_UTC, "", regex=True))
    return pd.to_datetime(iso, format="mixed", utc=True, errors="coerce")
