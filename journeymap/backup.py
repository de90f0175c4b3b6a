"""Back up one workspace into a single file, and restore it into a database that lacks it.

The file is a gzip stream of JSON lines, one record a line, written and read one record at a time
so that memory stays bounded whatever the number of analytics rows:

- a header `{"format": "journeymap-backup", "version": 1, ...}`;
- the users the workspace refers to (members, authors, uploaders), by username and email;
- the workspace, its memberships, personas, datasets, maps with every card, snapshots, comments,
  the change log and share links, each `{"t": "<app.model>", "id": old pk, "f": {field: value}}`,
  in pk order and parents before children;
- uploaded files (avatars, original uploads, error reports) as base64 chunks before their owner;
- analytics rows as `{"t": "rows", "model": ..., "dataset": old pk, "rows": [[...], ...]}` chunks;
- a trailer `{"t": "end", "counts": {...}}`: a file without it is truncated.

Materialised figures are not backed up: they are derived, and restore asks for them to be computed
again (or computes them at once). Restore writes everything in one transaction with fresh primary
keys, so a corrupt, truncated or refused file leaves the database as it was.
"""

import base64
import gzip
import json
import secrets
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import batched
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from analytics.models import AggregateRow, Dataset, Event, SurveyResponse
from journeymap.models import (
    Comment,
    CommentTarget,
    JourneyMap,
    MapChange,
    Membership,
    ShareLink,
    Snapshot,
    Workspace,
)
from personas.models import Persona
from stages.models import Stage, StageKPI
from touchpoints.models import Opportunity, PainPoint, Touchpoint

FORMAT = "journeymap-backup"
VERSION = 1
ROWS_PER_RECORD = 2000
FILE_CHUNK_BYTES = 1024 * 1024

# Parents before children: restoring a record needs the new pks of everything it points to.
OBJECT_MODELS: list[type[models.Model]] = [
    Workspace,
    Membership,
    Persona,
    Dataset,
    JourneyMap,
    Stage,
    StageKPI,
    Touchpoint,
    PainPoint,
    Opportunity,
    Snapshot,
    Comment,
    MapChange,
    ShareLink,
]
ROW_MODELS: list[type[models.Model]] = [Event, AggregateRow, SurveyResponse]

# How each model reaches its workspace.
WORKSPACE_PATHS: dict[type[models.Model], str] = {
    Workspace: "",
    Membership: "workspace",
    Persona: "workspace",
    Dataset: "workspace",
    JourneyMap: "workspace",
    Stage: "map__workspace",
    StageKPI: "stage__map__workspace",
    Touchpoint: "stage__map__workspace",
    PainPoint: "stage__map__workspace",
    Opportunity: "stage__map__workspace",
    Snapshot: "map__workspace",
    Comment: "map__workspace",
    MapChange: "map__workspace",
    ShareLink: "map__workspace",
    Event: "dataset__workspace",
    AggregateRow: "dataset__workspace",
    SurveyResponse: "dataset__workspace",
}

# The model a comment's (target_kind, target_id) points to.
COMMENT_TARGETS: dict[str, type[models.Model]] = {
    CommentTarget.STAGE: Stage,
    CommentTarget.TOUCHPOINT: Touchpoint,
    CommentTarget.PAIN_POINT: PainPoint,
    CommentTarget.OPPORTUNITY: Opportunity,
    CommentTarget.KPI: StageKPI,
}

MODELS_BY_LABEL = {model._meta.label_lower: model for model in OBJECT_MODELS + ROW_MODELS}


class BackupError(Exception):
    """The file cannot be restored (corrupt, truncated, of another format) or is refused."""


@dataclass
class BackupSummary:
    workspace: str
    counts: dict[str, int]
    missing_files: list[str] = field(default_factory=list)


@dataclass
class RestoreSummary:
    workspace: str
    counts: dict[str, int]
    users_created: list[str] = field(default_factory=list)
    share_links_revoked: int = 0
    missing_files: list[str] = field(default_factory=list)
    map_ids: list[int] = field(default_factory=list)


# --- backup ---------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    # Full precision: DjangoJSONEncoder would cut microseconds to milliseconds.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(record: dict[str, Any]) -> bytes:
    return (
        json.dumps(record, default=_json_default, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode("utf-8")


def _scoped(model: type[models.Model], workspace: Workspace) -> models.QuerySet:
    path = WORKSPACE_PATHS[model]
    lookup = {"pk": workspace.pk} if not path else {path: workspace}
    return model._default_manager.filter(**lookup).order_by("pk")


def _copied_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _row_columns(model: type[models.Model]) -> list[models.Field]:
    return [f for f in _copied_fields(model) if f.name != "dataset"]


def workspace_backup(*, workspace: Workspace, output: IO[bytes]) -> BackupSummary:
    """Write the workspace and everything in it to `output` as a gzip JSON-lines backup."""
    summary = BackupSummary(workspace=workspace.slug, counts={})
    counts: Counter[str] = Counter()
    # One transaction, so that the file is one consistent state of the workspace: PostgreSQL reads
    # a snapshot (REPEATABLE READ) without blocking anyone; SQLite holds its write lock meanwhile.
    outermost = not connection.in_atomic_block
    with (
        transaction.atomic(),
        gzip.GzipFile(fileobj=output, mode="wb", compresslevel=6) as stream,
    ):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stream.write(
            _dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "workspace": workspace.slug,
                    "created_at": timezone.now(),
                    "row_columns": {
                        model._meta.label_lower: [f.attname for f in _row_columns(model)]
                        for model in ROW_MODELS
                    },
                }
            )
        )
        for record in _user_records(workspace):
            stream.write(_dumps(record))
            counts["users"] += 1
        for model in OBJECT_MODELS:
            label = model._meta.label_lower
            for instance in _scoped(model, workspace).iterator(chunk_size=500):
                for record in _file_records(instance, summary):
                    stream.write(_dumps(record))
                stream.write(_dumps(_object_record(instance)))
                counts[label] += 1
                if model is Dataset:
                    for model_rows, records in _row_records(instance):
                        for record in records:
                            stream.write(_dumps(record))
                            counts[model_rows] += len(record["rows"])
        summary.counts = dict(sorted(counts.items()))
        stream.write(_dumps({"t": "end", "counts": summary.counts}))
    return summary


def _user_records(workspace: Workspace) -> Iterator[dict[str, Any]]:
    user_ids: set[int] = set()
    for model in OBJECT_MODELS:
        for f in _copied_fields(model):
            if f.is_relation and f.related_model is get_user_model():
                user_ids.update(
                    _scoped(model, workspace)
                    .exclude(**{f.attname: None})
                    .values_list(f.attname, flat=True)
                )
        for f in model._meta.many_to_many:
            if f.related_model is get_user_model():
                user_ids.update(
                    _scoped(model, workspace)
                    .exclude(**{f"{f.name}__isnull": True})
                    .values_list(f.name, flat=True)
                )
    users = get_user_model()._default_manager.filter(pk__in=user_ids).order_by("pk")
    for user in users:
        yield {
            "t": "user",
            "id": user.pk,
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "first_name": getattr(user, "first_name", ""),
            "last_name": getattr(user, "last_name", ""),
        }


def _object_record(instance: models.Model) -> dict[str, Any]:
    model = type(instance)
    values = {}
    for f in _copied_fields(model):
        value = f.value_from_object(instance)
        if isinstance(f, models.FileField):
            value = value.name or ""
        values[f.attname] = value
    record = {"t": model._meta.label_lower, "id": instance.pk, "f": values}
    many = {
        f.name: sorted(getattr(instance, f.name).values_list("pk", flat=True))
        for f in model._meta.many_to_many
    }
    if many:
        record["m2m"] = many
    return record


def _file_records(instance: models.Model, summary: BackupSummary) -> Iterator[dict[str, Any]]:
    """The files of the instance's FileFields, in base64 chunks, each ending with `last`."""
    for f in _copied_fields(type(instance)):
        if not isinstance(f, models.FileField):
            continue
        stored = getattr(instance, f.attname)
        if not stored:
            continue
        key = f"{type(instance)._meta.label_lower}:{instance.pk}:{f.attname}"
        base = {"t": "file", "key": key, "name": stored.name}
        try:
            handle = stored.storage.open(stored.name, "rb")
        except (FileNotFoundError, OSError):
            summary.missing_files.append(stored.name)
            yield {**base, "missing": True, "last": True}
            continue
        with handle:
            chunk = handle.read(FILE_CHUNK_BYTES)
            while True:
                following = handle.read(FILE_CHUNK_BYTES)
                yield {**base, "data": base64.b64encode(chunk).decode(), "last": not following}
                if not following:
                    break
                chunk = following


def _row_records(dataset: Dataset) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    for model in ROW_MODELS:
        yield model._meta.label_lower, _row_chunks(model, dataset)


def _row_chunks(model: type[models.Model], dataset: Dataset) -> Iterator[dict[str, Any]]:
    columns = [f.attname for f in _row_columns(model)]
    # One query read in batches (a server-side cursor on PostgreSQL, fetchmany on SQLite): one plan
    # for the whole dataset, whatever the planner's statistics, and memory bounded by the batch.
    rows = (
        model._default_manager.filter(dataset=dataset)
        .order_by("pk")
        .values_list(*columns)
        .iterator(chunk_size=ROWS_PER_RECORD)
    )
    label = model._meta.label_lower
    for chunk in batched(rows, ROWS_PER_RECORD):
        yield {"t": "rows", "model": label, "dataset": dataset.pk, "rows": chunk}


# --- restore --------------------------------------------------------------------------------------


def _records(source: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Decode the backup one record at a time; any damage is a BackupError."""
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as stream:
            for number, line in enumerate(stream, start=1):
                try:
                    record = json.loads(line)
                except (ValueError, UnicodeDecodeError) as error:
                    raise BackupError(f"record {number} is not valid JSON ({error}).") from None
                if not isinstance(record, dict):
                    raise BackupError(f"record {number} is not a JSON object.")
                yield record
    except gzip.BadGzipFile as error:
        raise BackupError(f"not a gzip file, or a corrupt one ({error}).") from None
    except EOFError:
        raise BackupError("the file is truncated (the compressed stream ends early).") from None
    except zlib.error as error:
        raise BackupError(f"the compressed data is corrupt ({error}).") from None


class _Restorer:
    """One restore: the pk maps from the file's ids to the new ones, and the files written."""

    def __init__(self, slug: str | None, revoke_share_links: bool) -> None:
        self.slug = slug
        self.revoke_share_links = revoke_share_links
        self.pks: dict[type[models.Model], dict[int, int]] = {m: {} for m in OBJECT_MODELS}
        self.users: dict[int, int] = {}
        self.files: dict[str, str] = {}
        self.written: list[str] = []
        self.pending_file: tuple[str, Any] | None = None
        self.row_columns: dict[str, list[str]] = {}
        self.counts: Counter[str] = Counter()
        self.summary = RestoreSummary(workspace="", counts={})

    def header(self, record: dict[str, Any]) -> None:
        if record.get("format") != FORMAT:
            raise BackupError("this is not a Journeymap backup (no journeymap-backup header).")
        if record.get("version") != VERSION:
            raise BackupError(
                f"backup format version {record.get('version')!r} is not supported "
                f"(this version reads version {VERSION})."
            )
        columns = record.get("row_columns") or {}
        for model in ROW_MODELS:
            label = model._meta.label_lower
            expected = [f.attname for f in _row_columns(model)]
            if columns.get(label) != expected:
                raise BackupError(f"the columns of {label} in the file do not match this version.")
            self.row_columns[label] = expected

    def restore(self, record: dict[str, Any]) -> None:
        kind = record.get("t")
        if kind == "user":
            self._user(record)
        elif kind == "file":
            self._file(record)
        elif kind == "rows":
            self._rows(record)
        elif kind in MODELS_BY_LABEL and MODELS_BY_LABEL[kind] in self.pks:
            self._object(MODELS_BY_LABEL[kind], record)
        else:
            raise BackupError(f"unknown record type {kind!r}.")

    def _user(self, record: dict[str, Any]) -> None:
        user_model = get_user_model()
        username = record["username"]
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            user = user_model(
                **{user_model.USERNAME_FIELD: username},
                email=record.get("email", ""),
                first_name=record.get("first_name", ""),
                last_name=record.get("last_name", ""),
            )
            user.set_unusable_password()
            user.save()
            self.summary.users_created.append(username)
        self.users[record["id"]] = user.pk
        self.counts["users"] += 1

    def _file(self, record: dict[str, Any]) -> None:
        key, name = record["key"], record["name"]
        if record.get("missing"):
            self.summary.missing_files.append(name)
            self.files[key] = ""
            return
        if self.pending_file is None or self.pending_file[0] != key:
            self._discard_pending()
            # Open across records (one per chunk); closed by _discard_pending.
            self.pending_file = (key, tempfile.TemporaryFile())  # noqa: SIM115
        handle = self.pending_file[1]
        try:
            handle.write(base64.b64decode(record["data"], validate=True))
        except (ValueError, TypeError) as error:
            raise BackupError(f"the file {name} in the backup is corrupt ({error}).") from None
        if record.get("last"):
            handle.seek(0)
            saved = default_storage.save(name, File(handle, name=Path(name).name))
            self.written.append(saved)
            self.files[key] = saved
            self._discard_pending()

    def _discard_pending(self) -> None:
        if self.pending_file is not None:
            self.pending_file[1].close()
            self.pending_file = None

    def _object(self, model: type[models.Model], record: dict[str, Any]) -> None:
        values = record["f"]
        kwargs: dict[str, Any] = {}
        for f in _copied_fields(model):
            if f.attname not in values:
                raise BackupError(f"{model._meta.label_lower} {record['id']} lacks {f.attname}.")
            kwargs[f.attname] = self._value(model, record, f, values[f.attname])
        if model is Workspace:
            if self.slug:
                kwargs["slug"] = self.slug
            if Workspace.objects.filter(slug=kwargs["slug"]).exists():
                raise BackupError(
                    f"a workspace {kwargs['slug']!r} already exists (delete it first, or restore "
                    "under another slug with --slug)."
                )
            self.summary.workspace = kwargs["slug"]
        if model is Comment:
            target_model = COMMENT_TARGETS.get(kwargs["target_kind"])
            if target_model is None:
                raise BackupError(f"comment {record['id']}: unknown target {kwargs['target_kind']}")
            kwargs["target_id"] = self._new_pk(target_model, kwargs["target_id"], record)
        if model is ShareLink:
            self._share_link(kwargs)
        instance = model(**kwargs)
        instance.save(force_insert=True)
        # auto_now and auto_now_add replaced the stored instants on insert: put them back.
        stamped = [
            f.attname
            for f in _copied_fields(model)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        if stamped:
            model._default_manager.filter(pk=instance.pk).update(
                **{name: kwargs[name] for name in stamped}
            )
        for name, old_ids in record.get("m2m", {}).items():
            related = model._meta.get_field(name).related_model
            getattr(instance, name).set([self._related_pk(related, old, record) for old in old_ids])
        self.pks[model][record["id"]] = instance.pk
        if model is JourneyMap:
            self.summary.map_ids.append(instance.pk)
        self.counts[model._meta.label_lower] += 1

    def _share_link(self, kwargs: dict[str, Any]) -> None:
        # The tokens are kept, so links handed out before the loss keep working after a restore;
        # a token already used in this database (the workspace restored beside its original) is
        # replaced and the link revoked, as it is with --revoke-share-links.
        clash = ShareLink.objects.filter(token=kwargs["token"]).exists()
        if clash:
            kwargs["token"] = secrets.token_urlsafe(32)
        if (clash or self.revoke_share_links) and kwargs["revoked_at"] is None:
            kwargs["revoked_at"] = timezone.now()
            self.summary.share_links_revoked += 1

    def _value(
        self, model: type[models.Model], record: dict[str, Any], f: models.Field, value: Any
    ) -> Any:
        if isinstance(f, models.FileField):
            key = f"{model._meta.label_lower}:{record['id']}:{f.attname}"
            return self.files.get(key, "") if value else ""
        if f.is_relation:
            if value is None:
                return None
            return self._related_pk(f.related_model, value, record)
        if value is None or isinstance(f, models.JSONField):
            return value
        return f.to_python(value)

    def _related_pk(self, model: type[models.Model], old: Any, record: dict[str, Any]) -> int:
        if model is get_user_model():
            if old not in self.users:
                raise BackupError(
                    f"{record.get('t')} {record.get('id')} refers to unknown user {old}."
                )
            return self.users[old]
        return self._new_pk(model, old, record)

    def _new_pk(self, model: type[models.Model], old: Any, record: dict[str, Any]) -> int:
        try:
            return self.pks[model][old]
        except (KeyError, TypeError):
            raise BackupError(
                f"{record.get('t')} {record.get('id')} refers to {model._meta.label_lower} {old}, "
                "which is not in the file before it."
            ) from None

    def _rows(self, record: dict[str, Any]) -> None:
        label = record.get("model")
        model = MODELS_BY_LABEL.get(label)
        if model not in ROW_MODELS:
            raise BackupError(f"unknown rows of {label!r}.")
        dataset_id = self._new_pk(Dataset, record.get("dataset"), record)
        fields = _row_columns(model)
        width = len(fields)
        preparers = [_row_preparer(f) for f in fields]
        rows = []
        for row in record["rows"]:
            if not isinstance(row, list) or len(row) != width:
                raise BackupError(f"a row of {label} does not have its {width} values.")
            values = [
                prepare(value) if value is not None else None
                for prepare, value in zip(preparers, row, strict=True)
            ]
            values.append(dataset_id)
            rows.append(values)
        # Rows go in without the ORM, whose per-instance work would make a million rows take
        # minutes: COPY on PostgreSQL, plain INSERTs of the values bulk_create would send elsewhere.
        quote = connection.ops.quote_name
        columns = ", ".join(
            [quote(f.column) for f in fields] + [quote(model._meta.get_field("dataset").column)]
        )
        table = quote(model._meta.db_table)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for values in rows:
                        copy.write_row(values)
            else:
                placeholders = ", ".join(["%s"] * (width + 1))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
        self.counts[label] += len(rows)

    def cleanup_files(self) -> None:
        self._discard_pending()
        for name in self.written:
            default_storage.delete(name)


def _row_preparer(f: models.Field) -> Callable[[Any], Any]:
    """How a value of the file becomes the value the database driver is given for this column."""
    copying = connection.vendor == "postgresql"  # COPY takes Python datetimes and JSON text
    if isinstance(f, models.DateTimeField):
        if copying:
            return datetime.fromisoformat
        return lambda value: f.get_db_prep_save(datetime.fromisoformat(value), connection)
    if isinstance(f, models.JSONField):
        if copying:
            return lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return lambda value: f.get_db_prep_save(value, connection)
    if isinstance(f, models.FloatField):
        return float
    if isinstance(f, models.IntegerField):
        return int
    return str


def workspace_restore(
    *, source: IO[bytes], slug: str | None = None, revoke_share_links: bool = False
) -> RestoreSummary:
    """Restore a backup in one transaction; on any error nothing is written (BackupError)."""
    restorer = _Restorer(slug, revoke_share_links)
    try:
        with transaction.atomic():
            records = _records(source)
            header = next(records, None)
            if header is None:
                raise BackupError("the file is empty.")
            restorer.header(header)
            trailer = None
            for record in records:
                if trailer is not None:
                    raise BackupError("records follow the end of the backup.")
                if record.get("t") == "end":
                    trailer = record
                    continue
                try:
                    restorer.restore(record)
                except (KeyError, TypeError, ValueError, DatabaseError) as error:
                    raise BackupError(
                        f"record {record.get('t')!r} {record.get('id', '')} is malformed "
                        f"({type(error).__name__}: {error})."
                    ) from None
            if trailer is None:
                raise BackupError("the file is truncated (it has no end record).")
            if trailer.get("counts") != dict(sorted(restorer.counts.items())):
                raise BackupError(
                    f"the file holds other counts than its end record says "
                    f"({dict(restorer.counts)} against {trailer.get('counts')})."
                )
            if not restorer.summary.workspace:
                raise BackupError("the file holds no workspace.")
    except BaseException:
        restorer.cleanup_files()
        raise
    if connection.vendor == "postgresql":
        # Fresh statistics for the tables that just grew, or the planner may treat a million new
        # rows as a handful (figures, pages and the next backup all query them).
        with connection.cursor() as cursor:
            for model in ROW_MODELS:
                if restorer.counts[model._meta.label_lower]:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    restorer.summary.counts = dict(sorted(restorer.counts.items()))
    return restorer.summary
