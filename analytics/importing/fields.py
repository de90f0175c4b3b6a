"""The canonical fields a file's columns map onto, per dataset kind (DESIGN §5).

A column mapping is a dict of file column → target. A target is a canonical field of the dataset's
kind, or EXTRA (keep the column as an extra property, the default for unknown columns) or IGNORE
(drop it). Several columns may map to one field: the first non-empty value, in file order, wins.
"""

EXTRA = "extra"
IGNORE = "ignore"

EVENT_FIELDS = (
    "timestamp",
    "event",
    "user_id",
    "session_id",
    "page",
    "source",
    "medium",
    "source_medium",  # "google / organic": split into source and medium
    "campaign",
    "channel",
    "device",
    "country",
    "revenue",
    "order_id",
)
EVENT_REQUIRED = ("timestamp", "event")

# Aggregate rows: dimension columns (matched by rules) and metric columns (summed).
AGGREGATE_DIMENSIONS = (
    "date",
    "event",
    "page",
    "source",
    "medium",
    "source_medium",
    "campaign",
    "channel",
    "device",
    "country",
    "dimension",  # any other dimension, kept under its column name
)
AGGREGATE_METRICS = (
    "users",
    "new_users",
    "sessions",
    "engaged_sessions",
    "views",
    "events",
    "key_events",
    "transactions",
    "revenue",
    "metric",  # any other metric, kept under its column name
)
AGGREGATE_FIELDS = AGGREGATE_DIMENSIONS + AGGREGATE_METRICS

SURVEY_FIELDS = ("score", "user_id", "responded_at", "comment")
SURVEY_REQUIRED = ("score",)

FIELDS_BY_KIND = {
    "events": EVENT_FIELDS,
    "aggregate": AGGREGATE_FIELDS,
    "survey": SURVEY_FIELDS,
}

# Every reason a row can be rejected for, worded as the error report shows it.
MISSING_TIMESTAMP = "missing timestamp"
BAD_TIMESTAMP = "unparseable timestamp"
EMPTY_EVENT = "empty event name"
BAD_REVENUE = "revenue is not a number"
NO_USER_NOR_SESSION = "both user id and session id are empty"
WRONG_FIELD_COUNT = "wrong number of fields"
MISSING_SCORE = "missing score"
BAD_SCORE = "score is not a whole number from 0 to 10"
BAD_DATE = "unparseable date"
BAD_METRIC = "metric is not a number"
