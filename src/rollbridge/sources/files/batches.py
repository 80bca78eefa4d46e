"""A sessions CSV handed over as `SessionBatch`es: one per chunk of rows, built on demand.

The rows that have a session_id are cut, in file order, into chunks of `CHUNK_ROWS`; a
chunk's batch parses its rows (`calendar.CsvRowReader`) and links them to the roster
(`link.SessionLinker`) only when the engine asks. Its fingerprint covers everything that
build reads (`model.SessionBatch`): the raw text of the chunk's lines and where they start
(rejection labels quote line numbers), the lines its records start on, the lines whose
session_id an earlier accepted row of the file already holds (the one rule that crosses
chunks), and one digest of the rest of the read (`read_digest`: the file's name and the
text before its first row, the roster the linker indexes, the time zone, the window and
the settings), plus `BUILD_VERSION`. When unsure, add it to `read_digest`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rollbridge.fingerprint import Fingerprint
from rollbridge.model import BatchContent, Person, SessionBatch, Window
from rollbridge.sources.files.calendar import CsvRowReader, CsvRows
from rollbridge.sources.files.csvio import Record
from rollbridge.sources.files.link import SessionLinker
from rollbridge.sources.files.roster import Roster

# Bump whenever what a batch builds from the same inputs changes: the CSV row parsing and
# time conversion (`calendar.py`), the linking (`link.py`), the chunking (here). Every
# batch is then built again once.
BUILD_VERSION = 1

# Rows per batch: small enough that one moved session rebuilds little, large enough that
# the per-batch bookkeeping (store rows, fingerprints) stays negligible.
CHUNK_ROWS = 1000


def _person_row(person: Person) -> tuple[object, ...]:
    """A person's fields with its attributes sorted: its `repr` is the same in every
    process (a frozenset's order is not), and C writes it far faster than `canonical`."""
    return (
        person.source_id,
        person.role,
        person.first_name,
        person.last_name,
        person.email,
        person.badge_id,
        person.phone,
        person.file_number,
        person.company,
        tuple(sorted(person.attrs)),
    )


def read_digest(
    rows: CsvRows, roster: Roster, *, tz: str, window: Window, settings: str, origin: str
) -> str:
    """One digest of every input of a chunk's build beside its own rows: the file's name,
    its text before the first row (a `sep=` line, the header: column positions and the
    delimiter), the roster (people, groups, memberships, tutor links, the groups' teachers
    — the linker indexes people, groups and teachers; the rest is included to be safe),
    the time zone, the window and the source's settings."""
    first = rows.records[0][0] if rows.records else len(rows.lines) + 1
    found = Fingerprint("files read")
    found.add((origin, rows.name, rows.header, tz, window, settings))
    found.add("".join(rows.lines[: first - 1]).encode())
    found.add(repr(tuple(_person_row(person) for person in roster.people)).encode())
    found.add_all(roster.groups)
    found.add(repr(tuple((m.learner_id, m.group_id) for m in roster.memberships)).encode())
    found.add(repr(tuple((t.learner_id, t.tutor_id) for t in roster.tutor_links)).encode())
    found.add(dict(roster.teachers))
    return found.hexdigest()


def repeated_lines(rows: CsvRows) -> frozenset[int]:
    """Lines of rows rejected because an earlier accepted row holds their session_id.

    Decided over the whole file before it is cut into chunks, with the rule the eager read
    applies: a row is accepted when its times and title are usable and no earlier accepted
    row has its id. Only ids that occur more than once are looked at (a handful, if any).
    """
    i_id = rows.reader.at[0]
    keys = [row[i_id].strip() for _, row in rows.records]
    if len(set(keys)) == len(keys):
        return frozenset()  # the usual case, checked without counting
    counts = Counter(keys)
    accepted: set[str] = set()
    repeats: set[int] = set()
    for line, row in rows.records:
        key = row[i_id].strip()
        if counts[key] == 1 or not rows.reader.usable(row):
            continue
        if key in accepted:
            repeats.add(line)
        else:
            accepted.add(key)
    return frozenset(repeats)


@dataclass(frozen=True, slots=True)
class _Chunk:
    index: int
    records: tuple[Record, ...]
    repeats: frozenset[int]
    first_line: int
    end_line: int  # the next chunk's first row, or one past the file's last line


def _chunks(rows: CsvRows, repeats: frozenset[int], size: int) -> list[_Chunk]:
    records = rows.records
    out: list[_Chunk] = []
    for index, at in enumerate(range(0, len(records), size)):
        part = records[at : at + size]
        # Up to the next chunk's first row: the lines of a row that spans several lines,
        # and of unreadable rows in between, are in the chunk's text too (more, never less).
        end = records[at + size][0] if at + size < len(records) else len(rows.lines) + 1
        own = frozenset(line for line, _ in part if line in repeats) if repeats else repeats
        out.append(_Chunk(index, part, own, part[0][0], end))
    return out


def chunk_fingerprint(
    text: str, first_line: int, starts: Sequence[int], repeats: frozenset[int], digest: str
) -> str:
    """The fingerprint of one chunk's batch: version, read-wide digest, where its text
    starts, the lines its rows start on, its repeated rows' lines, and its raw text."""
    found = Fingerprint("files sessions batch")
    found.add(BUILD_VERSION)
    found.add(digest)
    found.add(first_line)
    # Given the text and where each row starts, the csv parse of each row is fixed.
    found.add(repr(tuple(starts)).encode())
    found.add(repr(tuple(sorted(repeats))).encode())
    found.add(text.encode())
    return found.hexdigest()


def session_batches(
    rows: CsvRows,
    linker: SessionLinker,
    window: Window,
    *,
    digest_of_read: str,
    size: int = CHUNK_ROWS,
) -> tuple[SessionBatch, ...]:
    """One batch per chunk of rows, `csv:c{index}`; `build` parses the chunk's rows, rejects
    the unusable ones and links the rest to the roster inside `window`."""
    repeats = repeated_lines(rows)
    out: list[SessionBatch] = []
    for chunk in _chunks(rows, repeats, size):
        starts = [line for line, _ in chunk.records]
        text = "".join(rows.lines[chunk.first_line - 1 : chunk.end_line - 1])
        out.append(
            SessionBatch(
                batch_id=f"csv:c{chunk.index}",
                fingerprint=chunk_fingerprint(
                    text, chunk.first_line, starts, chunk.repeats, digest_of_read
                ),
                build=_build_of(rows.reader, linker, window, chunk),
            )
        )
    return tuple(out)


def _build_of(
    reader: CsvRowReader, linker: SessionLinker, window: Window, chunk: _Chunk
) -> Callable[[], BatchContent]:
    def build() -> BatchContent:
        planned, rejected, _, _ = reader.read(chunk.records, chunk.repeats)
        sessions, bad = linker.link(planned, window)
        return BatchContent(tuple(sessions), (*rejected, *bad))

    return build
