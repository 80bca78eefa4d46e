"""CSV reading that survives real exports, and atomic file replacement.

Files handed over by schools come from spreadsheets, vendor exports and hand edits: a
UTF-8 BOM or Windows-1252 bytes, CRLF or LF, a header with trailing empty names, rows
with a stray quote. `read_csv` reads them record by record and reports each row it cannot
read as a `BadRow` (file line and reason) instead of failing the file, so the rest is
still read. `write_atomically` replaces a file so that a crash leaves either the old or
the new content, never half of one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import tempfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

NEW_FILE_MODE = 0o640  # attendance and rosters are personal data: not world-readable


@dataclass(frozen=True, slots=True)
class BadRow:
    """A physical line where no usable record starts, and why."""

    line: int
    reason: str


Record = tuple[int, list[str]]
"""A record and the physical line it starts on (1-based)."""


def decode_text(data: bytes) -> str:
    """The text of a file: UTF-8 with or without BOM, else Windows-1252 (Excel's French CSV)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _records(text: str, position: int, width: int, delimiter: str) -> Iterator[Record | BadRow]:
    """Every record of `text` from line index `position`, checked against the header's width.

    An unbalanced quote makes the csv module swallow the following lines into one field,
    up to the next quote or the end of the file. When a record spanning several lines
    fails (a csv error, or the wrong number of fields), only its first line is reported
    and reading restarts on the line after it, so one stray quote costs one row, not the
    rest of the file.
    """
    while True:
        failure = yield from _read_from(text, position, width, delimiter)
        if failure is None:
            return
        yield failure
        position = failure.line  # 1-based line n is followed by 0-based index n


def _read_from(
    text: str, position: int, width: int, delimiter: str
) -> Generator[Record | BadRow, None, BadRow | None]:
    """Records from line index `position` until the end (None) or a failure that needs a
    restart. Lines are streamed, not listed: a 60,000-row planning stays cheap."""
    lines = itertools.islice(io.StringIO(text, newline=""), position, None)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    consumed = 0  # lines this reader has used so far
    while True:
        start = position + consumed + 1
        try:
            fields = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            return BadRow(start, f"badly quoted field ({exc})")
        spanned = reader.line_num - consumed > 1
        consumed = reader.line_num
        count = len(fields)
        if not any(fields):
            continue  # a blank line, or a spreadsheet's row of empty cells
        if count == width:
            yield start, fields
        elif spanned:
            # A quote left open swallowed the lines after it: report it, resume after it.
            return BadRow(start, "badly quoted field (a quote opened here is not closed)")
        elif count < width or any(field.strip() for field in fields[width:]):
            yield BadRow(start, f"has {count} fields, the header has {width}")
        else:
            yield start, fields[:width]  # trailing empty fields: a spreadsheet's extra commas


def read_csv(text: str) -> tuple[list[str], Iterator[Record | BadRow]]:
    """The header (names stripped, trailing empty names dropped) and the rows after it.

    Rows are checked against the header's width: fewer fields, or extra fields that are
    not empty, make a `BadRow`. Rows come with their first physical line. An empty text,
    or a header the csv module cannot read, gives an empty header and no rows. Fields are
    separated by commas, or by semicolons when the file says so the way French Excel
    does (a `sep=;` first line, or a header with semicolons and no comma).
    """
    start, delimiter = _layout(text)
    lines = itertools.islice(io.StringIO(text, newline=""), start, None)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] = []
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                header = [name.strip() for name in fields]
                break
    except csv.Error:
        return [], iter(())
    while header and not header[-1]:
        header.pop()  # "...,orgSourcedId,," in hand-made bundles: empty names carry nothing
    if not header:
        return [], iter(())
    return header, _records(text, start + reader.line_num, len(header), delimiter)


def _layout(text: str) -> tuple[int, str]:
    """Where the header may start (after Excel's `sep=` line) and the field delimiter."""
    for index, line in enumerate(io.StringIO(text, newline="")):
        if not line.strip():
            continue
        if line.lower().startswith("sep=") and len(line.strip()) == 5:
            return index + 1, line[4]
        return index, ";" if ";" in line and "," not in line else ","
    return 0, ","


def header_index(header: list[str]) -> dict[str, int]:
    """Column positions by lower-cased name; the first of duplicated names wins."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(name.lower(), position)
    return index


def split_values(text: str) -> tuple[str, ...]:
    """A OneRoster multi-value field (`"09,10,11"`) as its non-empty, stripped values."""
    if not text:
        return ()
    if "," not in text:
        value = text.strip()
        return (value,) if value else ()
    return tuple(value for value in (part.strip() for part in text.split(",")) if value)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` by `data` so that a crash leaves the old or the new file, whole.

    The bytes go to a temporary file in the same folder (so `os.replace` is a rename on
    one file system), are flushed to disk, then renamed over the target; the folder is
    synced so the rename itself survives a power cut. The previous file's permissions
    are kept.
    """
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable; some platforms cannot open a folder, which is harmless."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """Rows as UTF-8 CSV with CRLF line ends (RFC 4180), quoting only where needed."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
