"""Opening an upload as text: compression (.gz, a .zip holding one CSV), encoding, and refusals.

Nothing here reads a whole file into memory: every function streams. A compressed upload is capped
at ANALYTICS_MAX_UNCOMPRESSED_MB once expanded, so a zip bomb is refused instead of filling the disk
or keeping a worker busy for hours.
"""

from __future__ import annotations

import codecs
import gzip
import io
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO

from django.conf import settings
from django.core.files.base import File as DjangoFile

from analytics.importing.errors import ImportRefused

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
READ_BLOCK = 1024 * 1024


def max_uncompressed_bytes() -> int:
    """The most bytes a compressed upload may expand to."""
    return int(getattr(settings, "ANALYTICS_MAX_UNCOMPRESSED_MB", 4096)) * 1024 * 1024


def detect_compression(head: bytes) -> str:
    """'gzip', 'zip' or '' from the first bytes of a file (never from its name)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return "zip"
    return ""


class CappedReader(io.RawIOBase):
    """A binary stream that refuses to yield more than `limit` bytes (the zip bomb guard)."""

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        self.inner = inner
        self.limit = limit
        self.what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.inner.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise ImportRefused(
                f"{self.what} expands to more than {self.limit // (1024 * 1024)} MB; "
                "this looks like a zip bomb. Upload the CSV itself, or split it into smaller files."
            )
        buffer[: len(data)] = data
        return len(data)


def _zip_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    names = [info.filename for info in archive.infolist()]
    if "[Content_Types].xml" in names or any(name.startswith("xl/") for name in names):
        raise ImportRefused(
            "This is an Excel workbook (.xlsx), not a CSV. Open it and save the sheet as CSV "
            "(comma-separated), then upload that file."
        )
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not info.filename.rsplit("/", 1)[-1].startswith(".")
    ]
    if not members:
        raise ImportRefused("The zip file is empty. Put the CSV export in it, or upload the CSV.")
    if len(members) > 1:
        listed = ", ".join(info.filename for info in members[:5])
        raise ImportRefused(
            f"The zip file holds {len(members)} files ({listed}); it must hold exactly one CSV. "
            "Upload each CSV on its own."
        )
    member = members[0]
    if member.file_size > max_uncompressed_bytes():
        raise ImportRefused(
            f"{member.filename} in the zip file expands to {member.file_size // (1024 * 1024)} MB, "
            f"more than the {max_uncompressed_bytes() // (1024 * 1024)} MB allowed; this looks "
            "like a zip bomb. Split the export into smaller files."
        )
    return member


@contextmanager
def open_binary(raw: BinaryIO) -> Iterator[tuple[BinaryIO, str, str]]:
    """The decompressed content of `raw` as a stream, with the compression and the zip member."""
    raw.seek(0)
    head = raw.read(8)
    raw.seek(0)
    compression = detect_compression(head)
    if compression == "gzip":
        inner: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")
        capped = CappedReader(inner, max_uncompressed_bytes(), "The .gz file")
        try:
            yield io.BufferedReader(capped, READ_BLOCK), compression, ""
        except (gzip.BadGzipFile, EOFError, OSError) as error:
            if isinstance(error, ImportRefused):
                raise
            raise ImportRefused(
                f"The .gz file is damaged ({error}). Compress the CSV again, or upload it as is."
            ) from None
        return
    if compression == "zip":
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile:
            raise ImportRefused(
                "The zip file is damaged. Compress the CSV again, or upload it as is."
            ) from None
        with archive:
            member = _zip_member(archive)
            try:
                inner = archive.open(member)
            except (RuntimeError, NotImplementedError) as error:
                raise ImportRefused(
                    f"The zip file cannot be opened ({error}): use a zip without a password, "
                    "compressed with the usual method (deflate)."
                ) from None
            capped = CappedReader(inner, max_uncompressed_bytes(), "The zip file")
            try:
                yield io.BufferedReader(capped, READ_BLOCK), compression, member.filename
            except zipfile.BadZipFile as error:
                raise ImportRefused(
                    f"The zip file is damaged ({error}). Compress the CSV again."
                ) from None
        return
    # Django's File wrappers answer every `closed` check of a TextIOWrapper in Python: hand the
    # real file object over when there is one.
    while isinstance(raw, DjangoFile) and getattr(raw, "file", None) is not None:
        raw = raw.file
    yield raw, "", ""


# -- encodings ---------------------------------------------------------------------------------

_fallbacks = threading.local()


def _utf8_or_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Decode the bytes that are not UTF-8 as Windows-1252 (what such files nearly always are)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    _fallbacks.count = getattr(_fallbacks, "count", 0) + 1
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("journeymap-cp1252", _utf8_or_cp1252)


def fallback_count() -> int:
    """How many byte runs this thread decoded as Windows-1252 inside a UTF-8 file so far."""
    return getattr(_fallbacks, "count", 0)


def reset_fallback_count() -> None:
    _fallbacks.count = 0


def detect_encoding(sample: bytes) -> str:
    """A file's encoding from its first bytes: BOMs, then UTF-16 by its NULs, UTF-8, cp1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even_nuls = sample[0:2000:2].count(0)
    odd_nuls = sample[1:2000:2].count(0)
    pairs = max(1, min(len(sample), 2000) // 2)
    if odd_nuls > pairs * 0.3 and even_nuls < pairs * 0.05:
        return "utf-16-le"
    if even_nuls > pairs * 0.3 and odd_nuls < pairs * 0.05:
        return "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        undefined_in_cp1252 = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
        return "latin-1" if undefined_in_cp1252 & set(sample) else "cp1252"
    return "utf-8"


def text_stream(binary: BinaryIO, encoding: str) -> io.TextIOWrapper:
    """Text over a binary stream; newlines are left as they are, as the csv module wants."""
    errors = "journeymap-cp1252" if encoding in ("utf-8", "utf-8-sig") else "strict"
    if encoding in ("utf-16-le", "utf-16-be", "utf-16", "latin-1", "cp1252"):
        errors = "replace"
    wrapper = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="")
    return wrapper


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian, no BOM)",
    "utf-16-be": "UTF-16 (big-endian, no BOM)",
    "cp1252": "Windows-1252 (Latin-1)",
    "latin-1": "ISO-8859-1 (Latin-1)",
}
