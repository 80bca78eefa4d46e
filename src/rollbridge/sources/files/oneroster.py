"""OneRoster 1.1 / 1.2 CSV bundles (a folder or a .zip), read and merged.

Reading goes in steps, each testable alone:

1. `load_bundle(path)` reads the raw bytes of the files we use (the only I/O here);
2. `parse_bundle(origin, files)` turns them into rows keyed by `sourcedId`, with the
   manifest's mode (`bulk`, `delta`, `absent`) per file and every unreadable row as a
   `Rejected("row", "<file>:<line>", reason)`;
3. `RosterState.apply(bundle)` merges bundles: the bulk one, then each delta (upserts
   replace rows, `status=tobedeleted` removes them);
4. `roster.build_roster(state, ...)` turns the merged rows into canonical records.

Real bundles are rarely conformant (see tests/fixtures/files/): BOM, CRLF, header typos,
extra vendor columns, empty `status`, 1.1 column names (`users.role`, `orgSourcedIds`,
`agents`, `grade`) beside 1.2 ones (`roles.csv`, `primaryOrgSourcedId`). Dates are never
needed to build records, so their mixed formats cannot break a read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rollbridge.errors import SourceError
from rollbridge.model import Rejected
from rollbridge.sources.files.csvio import BadRow, decode_text, header_index, read_csv

FileMode = Literal["bulk", "delta", "absent"]

# The files records are built from; the others (courses, academicSessions, demographics...)
# carry nothing a Person or Group needs.
USED_FILES = ("users", "roles", "classes", "enrollments", "orgs")
# Without these, a bulk read cannot be whole: their absence would look like deletions.
REQUIRED_FILES = ("users", "classes", "enrollments")
MAX_BUNDLE_BYTES = 512 * 1024 * 1024  # refuse zip bombs before inflating them

_INACTIVE = frozenset({"inactive", "tobedeleted"})
_KNOWN_STATUS = frozenset({"", "active", "inactive", "tobedeleted"})


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV row: its place (`users.csv:12`) and its values by lower-cased column."""

    where: str
    values: Mapping[str, str]

    def get(self, *names: str) -> str:
        """The first non-empty value among column `names` (aliases across versions)."""
        for name in names:
            value = self.values.get(name)
            if value:
                return value
        return ""

    @property
    def sourced_id(self) -> str:
        """The row's OneRoster id, the record's `source_id`."""
        return self.values.get("sourcedid", "")

    @property
    def status(self) -> str:
        """`active`, `inactive`, `tobedeleted`, or "" (hand-made files): lower-cased."""
        return self.values.get("status", "").lower()

    @property
    def is_active(self) -> bool:
        """Whether the row describes something that exists (an empty status does)."""
        return self.status not in _INACTIVE


@dataclass(frozen=True, slots=True)
class Bundle:
    """One bundle as read: manifest modes and rows per used file, plus what failed."""

    origin: str
    version: str
    modes: Mapping[str, FileMode]
    tables: Mapping[str, tuple[Row, ...]]
    rejected: tuple[Rejected, ...] = ()
    is_whole: bool = True  # False: a file or a row could not be read

    def counts(self) -> dict[str, int]:
        """Rows per used file, for `check`."""
        return {name: len(rows) for name, rows in self.tables.items()}


def load_bundle(path: Path) -> dict[str, bytes]:
    """The bytes of each CSV file of a bundle folder or zip, by lower-cased base name.

    Raises SourceError when the bundle cannot be opened at all; a zip whose files sit in a
    sub-folder is accepted, as exporters often do that.
    """
    try:
        if path.is_dir():
            return {
                child.name.lower(): child.read_bytes()
                for child in sorted(path.iterdir())
                if child.is_file() and child.suffix.lower() == ".csv"
            }
        with zipfile.ZipFile(path) as archive:
            entries = [
                info
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(".csv")
            ]
            if sum(info.file_size for info in entries) > MAX_BUNDLE_BYTES:
                raise SourceError(f"OneRoster bundle {path} inflates past 512 MB; refusing it")
            return {
                info.filename.rsplit("/", 1)[-1].lower(): archive.read(info) for info in entries
            }
    except FileNotFoundError:
        raise SourceError(f"OneRoster bundle {path} does not exist") from None
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise SourceError(f"cannot read OneRoster bundle {path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Manifest:
    """What `manifest.csv` declares: the OneRoster version and each file's mode."""

    version: str = ""
    modes: Mapping[str, FileMode] = field(default_factory=dict)
    bad_rows: tuple[BadRow, ...] = ()


def parse_manifest(data: bytes) -> Manifest:
    """Version and mode per file (lower-cased name) of a `manifest.csv`.

    An empty mode (`file.userProfiles,` in hand-made bundles) counts as absent.
    """
    header, rows = read_csv(decode_text(data))
    index = header_index(header)
    name_at, value_at = index.get("propertyname", 0), index.get("value", 1)
    version = ""
    modes: dict[str, FileMode] = {}
    bad: list[BadRow] = []
    for item in rows:
        if isinstance(item, BadRow):
            bad.append(item)
            continue
        fields = item[1]
        name, value = fields[name_at].strip().lower(), fields[value_at].strip().lower()
        if name == "oneroster.version":
            version = value
        elif name.startswith("file."):
            modes[name[5:]] = (
                "bulk" if value == "bulk" else "delta" if value == "delta" else "absent"
            )
    return Manifest(version, modes, tuple(bad))


def parse_bundle(origin: str, files: Mapping[str, bytes]) -> Bundle:
    """Rows of the used files, checked against the manifest; pure."""
    rejected: list[Rejected] = []
    data = files.get("manifest.csv")
    if data is None:
        # Hand-made bundles often have none; reading what is there beats reading nothing.
        manifest = Manifest(
            modes={table: "bulk" for table in USED_FILES if f"{table}.csv" in files}
        )
        rejected.append(
            Rejected("file", f"{origin}/manifest.csv", "missing: CSV files read as bulk")
        )
    else:
        manifest = parse_manifest(data)
        rejected.extend(
            Rejected("row", f"manifest.csv:{bad.line}", bad.reason) for bad in manifest.bad_rows
        )
    is_whole = not manifest.bad_rows
    tables: dict[str, tuple[Row, ...]] = {}
    modes: dict[str, FileMode] = {}
    for table in USED_FILES:
        mode = modes[table] = manifest.modes.get(table.lower(), "absent")
        if mode == "absent":
            continue  # a file the manifest does not list is not part of this bundle
        content = files.get(f"{table}.csv")
        if content is None:
            reason = f"the manifest lists it as {mode}, but the file is missing"
            rejected.append(Rejected("file", f"{origin}/{table}.csv", reason))
            is_whole = False
            continue
        rows, bad = _parse_table(f"{table}.csv", content)
        tables[table] = rows
        rejected.extend(bad)
        is_whole = is_whole and not bad
    return Bundle(origin, manifest.version, modes, tables, tuple(rejected), is_whole)


def _parse_table(name: str, data: bytes) -> tuple[tuple[Row, ...], list[Rejected]]:
    """Rows of one file, and its unreadable rows as `Rejected("row", "<file>:<line>")`."""
    header, records = read_csv(decode_text(data))
    if not header:
        return (), ([Rejected("row", f"{name}:1", "no header row")] if data.strip() else [])
    columns = [column.lower() for column in header]
    if "sourcedid" not in columns:
        return (), [Rejected("row", f"{name}:1", "the header has no sourcedId column")]
    rows: list[Row] = []
    bad: list[Rejected] = []
    for item in records:
        if isinstance(item, BadRow):
            bad.append(Rejected("row", f"{name}:{item.line}", item.reason))
            continue
        line, fields = item
        row = Row(
            f"{name}:{line}", dict(zip(columns, (value.strip() for value in fields), strict=True))
        )
        if not row.sourced_id:
            bad.append(Rejected("row", row.where, "no sourcedId"))
        elif row.status not in _KNOWN_STATUS:
            bad.append(Rejected("row", row.where, f"unknown status {row.status!r}"))
        else:
            rows.append(row)
    return tuple(rows), bad


@dataclass
class RosterState:
    """Rows of each used file, merged bundle after bundle (bulk first, then deltas)."""

    tables: dict[str, dict[str, Row]] = field(
        default_factory=lambda: {table: {} for table in USED_FILES}
    )
    # Rows an explicit `tobedeleted` removed, by file and sourcedId (the row as last seen).
    removed: dict[str, dict[str, Row]] = field(
        default_factory=lambda: {table: {} for table in USED_FILES}
    )
    rejected: list[Rejected] = field(default_factory=list)

    def apply(self, bundle: Bundle) -> None:
        """Merge one bundle: a bulk file replaces its table, a delta file updates it."""
        for table, rows in bundle.tables.items():
            current, removed = self.tables[table], self.removed[table]
            is_bulk = bundle.modes.get(table) == "bulk"
            if is_bulk:
                current.clear()
            for row in rows:
                key = row.sourced_id
                if row.status == "tobedeleted":
                    # Keep the last full row: a delta's deletion row may carry only the id.
                    removed[key] = current.pop(key, row)
                    continue
                if is_bulk and key in current:
                    self.rejected.append(
                        Rejected(
                            "row",
                            row.where,
                            f"sourcedId {key} repeats an earlier row; the later row is used",
                        )
                    )
                current[key] = row
                removed.pop(key, None)
