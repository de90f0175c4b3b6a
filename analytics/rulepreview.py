"""What a rule matches, live while it is typed: counts of rows and users, and a few sample rows.

The rule is evaluated exactly as the metrics engine evaluates it (`analytics.rules.rule_mask` on the
same column types), over the events of the given datasets. To answer within a keystroke whatever
the size of the data, it reads at most `PREVIEW_ROWS` events, the most recently imported ones (a
backward scan of the primary key, which stops there), and only the columns the rule needs: the
counts are exact when the datasets hold no more than that, and otherwise counts over that many
latest rows, which the page says. The exact figures follow from the recompute after the save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.loading import json_text
from analytics.models import Event
from analytics.rules import rule_fields, rule_mask
from touchpoints.rules import CANONICAL_FIELDS

PREVIEW_ROWS = 100_000
SAMPLE_ROWS = 10
SAMPLE_COLUMNS = ("timestamp", "event", "user_id", "session_id", "page", "channel", "revenue")


@dataclass
class RulePreview:
    """How many of the examined rows (and their users) a rule matches, and some of those rows."""

    rows: int
    users: int
    examined: int  # rows read: all of them, or the latest PREVIEW_ROWS
    total: int  # rows in the datasets
    columns: list[str] = field(default_factory=list)
    sample: list[list[Any]] = field(default_factory=list)

    @property
    def bounded(self) -> bool:
        """Only the latest rows were examined (the counts are not over every row)."""
        return self.examined < self.total


def preview_rule(
    *,
    dataset_ids: list[int],
    rule: dict | None,
    limit: int | None = None,
    sample_size: int = SAMPLE_ROWS,
) -> RulePreview:
    """The rows and users of the datasets' events that a (valid) rule matches, and a sample."""
    limit = limit or PREVIEW_ROWS
    fields = sorted(rule_fields(rule))
    canonical = [name for name in fields if name in CANONICAL_FIELDS]
    extras = [name for name in fields if name not in CANONICAL_FIELDS]
    columns = ["pk", "user_id", "session_id"]
    columns += [name for name in canonical if name not in columns]
    if extras:
        columns.append("extra")
    events = Event.objects.filter(dataset_id__in=dataset_ids).order_by("-pk")
    rows = list(events.values_list(*columns)[:limit]) if dataset_ids else []
    total = len(rows) if len(rows) < limit else events.count()
    by_column: dict[str, list] = {name: [] for name in columns}
    if rows:
        by_column = dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True))

    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for name in canonical:
        frame[name] = _column(name, by_column[name])
    for key in extras:
        frame[key] = pd.Categorical(
            [
                json_text(cell.get(key)) if isinstance(cell, dict) else ""
                for cell in by_column["extra"]
            ]
        )
    mask = rule_mask(rule, frame)

    user_ids = np.asarray(by_column["user_id"], dtype=object)
    sessions = np.asarray(by_column["session_id"], dtype=object)
    users = np.where(user_ids == "", sessions, user_ids)[mask]
    matched_pks = np.asarray(by_column["pk"], dtype=np.int64)[mask][:sample_size].tolist()
    shown = [*SAMPLE_COLUMNS, *(name for name in fields if name not in SAMPLE_COLUMNS)]
    return RulePreview(
        rows=int(np.count_nonzero(mask)),
        users=int(pd.unique(users).size) if users.size else 0,
        examined=len(rows),
        total=total,
        columns=shown,
        sample=_sample(matched_pks, shown),
    )


def _column(name: str, values: list) -> Any:
    """A canonical field as the engine's loader types it (analytics.loading)."""
    if name == "timestamp":
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    if name == "revenue":
        return np.asarray(values, dtype=np.float64)
    return pd.Categorical(values)


def _sample(pks: list[int], shown: list[str]) -> list[list[Any]]:
    """The sample rows' values in `shown` order (extra properties as their rule text)."""
    if not pks:
        return []
    canonical = [name for name in shown if name in CANONICAL_FIELDS]
    rows = Event.objects.filter(pk__in=pks).order_by("-pk").values(*canonical, "extra")
    sample = []
    for row in rows:
        extra = row["extra"] if isinstance(row["extra"], dict) else {}
        sample.append(
            [
                row[name] if name in CANONICAL_FIELDS else json_text(extra.get(name))
                for name in shown
            ]
        )
    return sample
