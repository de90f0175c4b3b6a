"""Forms of the dataset pages: the upload, how the file is read and mapped, the maps it feeds.

The mapping form turns what the admin chose into the `options` and `mapping` the services take
(analytics/services.py); the services decide whether they can be imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from analytics.importing.detection import FORMAT_KINDS, FORMAT_LABELS
from analytics.importing.fields import EXTRA, FIELDS_BY_KIND, IGNORE
from analytics.importing.sniffing import DELIMITER_LABELS
from analytics.importing.sources import ENCODING_LABELS
from analytics.services import Preview

ACCEPTED_FILES = ".csv,.tsv,.txt,.jsonl,.json,.gz,.zip,text/csv,text/plain"

# What each canonical field means, shown beside its name in the mapping selects (DESIGN §5).
FIELD_MEANINGS = {
    "timestamp": "when it happened",
    "event": "event name",
    "user_id": "visitor or customer id",
    "session_id": "session id",
    "page": "page path or URL",
    "source": "traffic source",
    "medium": "traffic medium",
    "source_medium": "“source / medium”, split in two",
    "campaign": "campaign",
    "channel": "channel",
    "device": "device",
    "country": "country",
    "revenue": "money received",
    "order_id": "order id",
    "date": "date (dimension)",
    "dimension": "another dimension",
    "users": "users (metric)",
    "new_users": "new users (metric)",
    "sessions": "sessions (metric)",
    "engaged_sessions": "engaged sessions (metric)",
    "views": "views (metric)",
    "events": "event count (metric)",
    "key_events": "key events (metric)",
    "transactions": "transactions (metric)",
    "metric": "another metric",
    "score": "0–10 score",
    "responded_at": "when they answered",
    "comment": "comment",
}
KEEP_CHOICES = [(EXTRA, "keep as extra property"), (IGNORE, "ignore")]
EVERY_TARGET = {name for fields in FIELDS_BY_KIND.values() for name in fields} | {EXTRA, IGNORE}
# Options that change which columns the file has, or how they are detected: changing one of them
# proposes a new mapping instead of keeping the one on screen.
READING_KEYS = ("format", "table", "encoding", "delimiter", "header")
SLASHED_ORDERS = ("dmy", "mdy")
MAX_COLUMNS = 2000


def target_choices(kind: str) -> list[tuple[str, str]]:
    """The targets a column of a `kind` dataset can be mapped onto, labelled for people."""
    fields = [(name, f"{name} — {FIELD_MEANINGS.get(name, name)}") for name in FIELDS_BY_KIND[kind]]
    return [*KEEP_CHOICES, ("Canonical field", fields)]


class DatasetUploadForm(forms.Form):
    file = forms.FileField(
        label="Export file",
        error_messages={
            "required": "Choose a file to upload.",
            "empty": "The file is empty. Export the data again and upload that file.",
        },
        widget=forms.FileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    name = forms.CharField(
        label="Name (optional)",
        max_length=200,
        required=False,
        help_text="Defaults to the file's name.",
    )


@dataclass(frozen=True)
class MappingChoices:
    """What the admin chose: options for the services, and the mapping (None: propose one)."""

    options: dict[str, Any]
    mapping: dict[str, str] | None
    date_order: str  # "dmy" or "mdy" for every mapped date column written 01/02/2024, or ""


def read_options(
    *, source_format: str, table: int, encoding: str, delimiter: str, header: bool, decimal: str
) -> dict[str, Any]:
    """How to read the file, as the services take it (JSON Lines: no delimiter nor header)."""
    options: dict[str, Any] = {
        "format": source_format,
        "table": table,
        "encoding": encoding,
        "decimal": decimal,
    }
    if delimiter:
        options.update(delimiter=delimiter, header=header)
    return options


def reading_signature(options: dict[str, Any]) -> str:
    """The reading options a column list was made with, as one string for a hidden field."""
    return "|".join(str(options.get(key, "")) for key in READING_KEYS)


class MappingForm(forms.Form):
    """How the file is read, and one select per source column onto the dataset kind's fields.

    Rendered from a Preview (`for_preview`), posted back on every change (the live preview) and on
    confirm. Column targets are checked against the kind by the services, not here.
    """

    format = forms.ChoiceField(label="Format", choices=list(FORMAT_LABELS.items()))
    table = forms.IntegerField(
        label="Table", min_value=0, max_value=999, required=False, widget=forms.Select
    )
    encoding = forms.ChoiceField(label="Encoding", choices=list(ENCODING_LABELS.items()))
    delimiter = forms.ChoiceField(
        label="Delimiter",
        required=False,
        choices=[(value, label) for value, label in DELIMITER_LABELS.items()],
    )
    header = forms.BooleanField(label="The first row holds the column names", required=False)
    decimal = forms.ChoiceField(
        label="Decimal separator",
        choices=[(".", "point (1,234.56)"), (",", "comma (1.234,56)")],
    )
    date_order = forms.ChoiceField(
        label="Dates written like 01/02/2024 are",
        required=False,
        choices=[
            ("", "as detected"),
            ("dmy", "day first (31/12/2024)"),
            ("mdy", "month first (12/31/2024)"),
        ],
    )
    revenue_events = forms.CharField(
        label="Revenue counts only on events named",
        required=False,
        max_length=1000,
        help_text="Comma-separated; empty counts revenue on every event.",
    )
    read_as = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, columns: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if columns is None:  # bound to a post: its columns are the ones it names
            columns = []
            while len(columns) < MAX_COLUMNS and f"source_{len(columns)}" in self.data:
                columns.append(self.data[f"source_{len(columns)}"])
        self.columns = columns
        for index, column in enumerate(columns):
            self.fields[f"source_{index}"] = forms.CharField(
                widget=forms.HiddenInput, initial=column, strip=False
            )
            self.fields[f"target_{index}"] = forms.ChoiceField(
                label=column, choices=[(name, name) for name in sorted(EVERY_TARGET)]
            )

    @classmethod
    def for_preview(cls, preview: Preview) -> MappingForm:
        """An unbound form showing the options and mapping of a preview."""
        options = preview.options
        columns = [column for column in preview.columns if column in preview.mapping]
        columns += [source for source in preview.mapping if source not in preview.columns]
        orders = [text for text in (options.get("date_formats") or {}).values()]
        reading = read_options(
            source_format=preview.source_format,
            table=int(options.get("table") or 0),
            encoding=options.get("encoding") or "utf-8",
            delimiter="" if options.get("jsonl") else options.get("delimiter") or ",",
            header=bool(options.get("header", True)),
            decimal=options.get("decimal") or ".",
        )
        initial = {
            **reading,
            "date_order": next((order for order in orders if order in SLASHED_ORDERS), ""),
            "revenue_events": ", ".join(options.get("revenue_events") or []),
            "read_as": reading_signature(reading),
        }
        for index, column in enumerate(columns):
            initial[f"source_{index}"] = column
            initial[f"target_{index}"] = preview.mapping[column]
        form = cls(initial=initial, columns=columns)
        for index in range(len(columns)):
            form.fields[f"target_{index}"].choices = target_choices(preview.kind)
        form.fields["table"].widget.choices = [
            (index, description) for index, description in enumerate(preview.tables)
        ]
        form.show_tables = len(preview.tables) > 1
        form.show_delimiter = not options.get("jsonl")
        form.show_revenue_events = preview.kind == "events"
        return form

    show_tables = show_delimiter = show_revenue_events = False

    def column_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(column, its target select, its hidden name) for each source column, in file order."""
        return [
            (column, self[f"target_{index}"], self[f"source_{index}"])
            for index, column in enumerate(self.columns)
        ]

    def choices(self) -> MappingChoices:
        """The options and mapping to preview or save; call after is_valid()."""
        data = self.cleaned_data
        options = read_options(
            source_format=data["format"],
            table=data["table"] or 0,
            encoding=data["encoding"],
            delimiter=data["delimiter"],
            header=data["header"],
            decimal=data["decimal"],
        )
        if reading_signature(options) != data["read_as"]:
            return MappingChoices(options=options, mapping=None, date_order="")
        if FORMAT_KINDS[data["format"]] == "events":
            names = [name.strip() for name in data["revenue_events"].split(",") if name.strip()]
            options["revenue_events"] = names
        mapping = {
            data[f"source_{index}"]: data[f"target_{index}"] for index in range(len(self.columns))
        }
        return MappingChoices(options=options, mapping=mapping, date_order=data["date_order"])


class DatasetMapsForm(forms.Form):
    """The maps of the workspace a dataset feeds: a checkbox each."""

    maps = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Maps fed by this dataset",
    )

    def __init__(self, *args: Any, maps: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["maps"].queryset = maps
