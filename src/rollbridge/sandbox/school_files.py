"""Write a synthetic school as the "files" source reads it: OneRoster CSV, sessions CSV, iCalendar.

Layout under `folder`:

- `oneroster/`: `manifest.csv`, `orgs.csv`, `academicSessions.csv`, `users.csv`,
  `roles.csv`, `classes.csv`, `enrollments.csv` (OneRoster 1.2 bulk, header rows, UTF-8,
  `csv` module quoting; multi-valued cells are comma-separated lists). Learners are
  `student`, instructors `teacher`, tutors `relative`; a learner's tutors are in its
  `agentSourcedIds`; badge ids are `userIds` `{badge:…}`; the file number is `identifier`.
- `sessions.csv`: one row per session, `start`/`end` as local wall-clock
  `YYYY-MM-DDTHH:MM` in the school's zone (no offset), id lists comma-separated,
  `instructor_ids` empty for sessions without an instructor.
- `sessions.ics`: the same sessions, written by hand (RFC 5545: CRLF, lines folded at 75
  octets, TEXT escaped), local times with `TZID` and a `VTIMEZONE` built from the zone's
  real transitions over the school year; `UID` is the session id, `X-ROLLBRIDGE-CLASS`,
  `-INSTRUCTOR`, `-LEARNER`, `-EXEMPT`, `-ROOM-CODE` carry comma lists of ids (omitted when
  empty).

Output bytes depend only on the school, so a seed gives the same files every time.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rollbridge.model import Person, Session, attr_values
from rollbridge.sandbox.school import SyntheticSchool, offset_changes, subject_code
from rollbridge.sources.files.calendar import SESSION_COLUMNS
from rollbridge.timeconv import iso_z, utc_to_local

MANIFEST_FILES = (
    ("academicSessions", "bulk"),
    ("categories", "absent"),
    ("classResources", "absent"),
    ("classes", "bulk"),
    ("courseResources", "absent"),
    ("courses", "absent"),
    ("demographics", "absent"),
    ("enrollments", "bulk"),
    ("lineItemLearningObjectiveIds", "absent"),
    ("lineItemScoreScales", "absent"),
    ("lineItems", "absent"),
    ("orgs", "bulk"),
    ("resources", "absent"),
    ("resultLearningObjectiveIds", "absent"),
    ("resultScoreScales", "absent"),
    ("results", "absent"),
    ("roles", "bulk"),
    ("scoreScales", "absent"),
    ("userProfiles", "absent"),
    ("userResources", "absent"),
    ("users", "bulk"),
)
ORGS_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
)
ACADEMIC_SESSIONS_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
)
USERS_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
)
ROLES_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "orgSourcedId",
    "userProfileSourcedId",
    "beginDate",
    "endDate",
)
CLASSES_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
)
ENROLLMENTS_COLUMNS = (
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
)
SESSIONS_COLUMNS = SESSION_COLUMNS  # the files source's contract, one definition
ONEROSTER_ROLES = {"learner": "student", "instructor": "teacher", "tutor": "relative"}
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True, slots=True)
class SchoolFiles:
    """Where `write_school_files` put each file."""

    folder: Path
    oneroster: Path
    manifest: Path
    orgs: Path
    academic_sessions: Path
    users: Path
    roles: Path
    classes: Path
    enrollments: Path
    sessions_csv: Path
    sessions_ics: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written, in a fixed order."""
        return (
            self.manifest,
            self.orgs,
            self.academic_sessions,
            self.users,
            self.roles,
            self.classes,
            self.enrollments,
            self.sessions_csv,
            self.sessions_ics,
        )


def write_school_files(school: SyntheticSchool, folder: Path) -> SchoolFiles:
    """Write the OneRoster bundle, `sessions.csv` and `sessions.ics` of `school` under `folder`."""
    oneroster = folder / "oneroster"
    oneroster.mkdir(parents=True, exist_ok=True)
    files = SchoolFiles(
        folder=folder,
        oneroster=oneroster,
        manifest=oneroster / "manifest.csv",
        orgs=oneroster / "orgs.csv",
        academic_sessions=oneroster / "academicSessions.csv",
        users=oneroster / "users.csv",
        roles=oneroster / "roles.csv",
        classes=oneroster / "classes.csv",
        enrollments=oneroster / "enrollments.csv",
        sessions_csv=folder / "sessions.csv",
        sessions_ics=folder / "sessions.ics",
    )
    bundle = _Bundle(school)
    _write_csv(
        files.manifest,
        ("propertyName", "value"),
        (
            ("manifest.version", "1.0"),
            ("oneroster.version", "1.2"),
            *((f"file.{name}", mode) for name, mode in MANIFEST_FILES),
        ),
    )
    _write_csv(files.orgs, ORGS_COLUMNS, bundle.orgs())
    _write_csv(files.academic_sessions, ACADEMIC_SESSIONS_COLUMNS, bundle.academic_sessions())
    _write_csv(files.users, USERS_COLUMNS, bundle.users())
    _write_csv(files.roles, ROLES_COLUMNS, bundle.roles())
    _write_csv(files.classes, CLASSES_COLUMNS, bundle.classes())
    _write_csv(files.enrollments, ENROLLMENTS_COLUMNS, bundle.enrollments())
    _write_csv(files.sessions_csv, SESSIONS_COLUMNS, bundle.session_rows())
    with files.sessions_ics.open("wb") as handle:
        handle.writelines(iter_ics(school))
    return files


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def class_code(group_name: str) -> str:
    """A short ASCII class code from a group name: `BTS SIO 1 — Groupe A` → `BTS-SIO-1-A`."""
    ascii_name = unicodedata.normalize("NFKD", group_name.replace("— Groupe ", "")).encode(
        "ascii", "ignore"
    )
    return re.sub(r"[^A-Z0-9]+", "-", ascii_name.decode().upper()).strip("-")


class _Bundle:
    """Rows of each OneRoster file, derived once from the school's records."""

    def __init__(self, school: SyntheticSchool) -> None:
        self.school = school
        self.stamp = iso_z(datetime.combine(school.year_start - timedelta(days=7), time(6), UTC))
        self.year_id = f"as-{school.school_year}"
        self.begin, self.end = school.year_start.isoformat(), school.year_end.isoformat()
        self.district_id = f"org-{school.domain.removesuffix('.test')}"
        self.teacher_sessions: dict[str, Counter[str]] = {}  # group -> instructor -> sessions
        self.site_sessions: dict[str, Counter[str]] = {}  # instructor -> site -> sessions
        self.subjects: dict[str, dict[str, None]] = {}
        self.rooms: dict[str, Counter[str]] = {}
        for session in school.sessions:
            site = attr_values(session.attrs, "org")
            for group_id in session.group_ids:
                self.teacher_sessions.setdefault(group_id, Counter()).update(session.instructor_ids)
                self.subjects.setdefault(group_id, {})[session.name] = None
                if session.room_name:
                    self.rooms.setdefault(group_id, Counter())[session.room_name] += 1
            for instructor_id in session.instructor_ids:
                self.site_sessions.setdefault(instructor_id, Counter()).update(site)
        self.tutors: dict[str, list[str]] = {}
        for link in school.tutor_links:
            self.tutors.setdefault(link.learner_id, []).append(link.tutor_id)

    def orgs(self) -> Iterator[tuple[str, ...]]:
        school = self.school
        slug = self.district_id.removeprefix("org-")
        yield (self.district_id, "active", self.stamp, school.name, "district", slug, "")
        for site in school.sites:
            code = (
                unicodedata.normalize("NFKD", site.city)
                .encode("ascii", "ignore")
                .decode()[:3]
                .upper()
            )
            yield (site.org_id, "active", self.stamp, site.name, "school", code, self.district_id)

    def academic_sessions(self) -> Iterator[tuple[str, ...]]:
        school, year = self.school, str(self.school.year_end.year)
        split = date(school.year_end.year, 2, 1)
        yield (
            self.year_id,
            "active",
            self.stamp,
            f"Année {school.school_year}",
            "schoolYear",
            self.begin,
            self.end,
            "",
            year,
        )
        yield (
            f"{self.year_id}-s1",
            "active",
            self.stamp,
            "Semestre 1",
            "semester",
            self.begin,
            (split - timedelta(days=1)).isoformat(),
            self.year_id,
            year,
        )
        yield (
            f"{self.year_id}-s2",
            "active",
            self.stamp,
            "Semestre 2",
            "semester",
            split.isoformat(),
            self.end,
            self.year_id,
            year,
        )

    def orgs_of(self, person: Person) -> list[str]:
        """The person's sites, the primary one (where they spend most sessions) first."""
        sites = list(attr_values(person.attrs, "org"))
        counts = self.site_sessions.get(person.source_id, Counter())
        return sorted(sites, key=lambda s: (-counts[s], s))

    def users(self) -> Iterator[tuple[str, ...]]:
        for person in self.school.people:
            email = person.email or ""
            local, at, domain = email.partition("@")
            username = local if at and domain == self.school.domain else person.source_id
            yield (
                person.source_id,
                "active",
                self.stamp,
                "true",
                username,
                f"{{badge:{person.badge_id}}}" if person.badge_id else "",
                person.first_name,
                person.last_name,
                "",
                person.file_number or "",
                email,
                "",
                person.phone or "",
                ",".join(sorted(self.tutors.get(person.source_id, ()))),
                "",
                "",
                "",
                "",
                "",
                "",
                self.orgs_of(person)[0],
                "",
            )

    def roles(self) -> Iterator[tuple[str, ...]]:
        for person in self.school.people:
            for n, org in enumerate(self.orgs_of(person)):
                yield (
                    f"rol-{person.source_id}-{org}",
                    "active",
                    self.stamp,
                    person.source_id,
                    "primary" if n == 0 else "secondary",
                    ONEROSTER_ROLES[person.role],
                    org,
                    "",
                    self.begin,
                    self.end,
                )

    def classes(self) -> Iterator[tuple[str, ...]]:
        for group in self.school.groups:
            subjects = list(self.subjects.get(group.source_id, {}))
            rooms = self.rooms.get(group.source_id, Counter())
            location = min(rooms, key=lambda r: (-rooms[r], r)) if rooms else ""
            has_teacher = bool(self.teacher_sessions.get(group.source_id))
            yield (
                group.source_id,
                "active",
                self.stamp,
                group.name,
                "",
                "",
                class_code(group.name),
                "homeroom" if has_teacher else "scheduled",
                location,
                attr_values(group.attrs, "org")[0],
                self.year_id,
                ",".join(sorted(subjects)),
                ",".join(subject_code(s) for s in sorted(subjects)),
                "",
            )

    def enrollments(self) -> Iterator[tuple[str, ...]]:
        members: dict[str, list[str]] = {}
        for membership in self.school.memberships:
            members.setdefault(membership.group_id, []).append(membership.learner_id)
        for group in self.school.groups:
            gid, site = group.source_id, attr_values(group.attrs, "org")[0]
            for learner_id in members.get(gid, ()):
                yield (
                    f"enr-{gid}-{learner_id}",
                    "active",
                    self.stamp,
                    gid,
                    site,
                    learner_id,
                    "student",
                    "false",
                    self.begin,
                    self.end,
                )
            teachers = self.teacher_sessions.get(gid, Counter())
            lead = min(teachers, key=lambda t: (-teachers[t], t)) if teachers else ""
            for teacher_id in sorted(teachers):
                yield (
                    f"enr-{gid}-{teacher_id}",
                    "active",
                    self.stamp,
                    gid,
                    site,
                    teacher_id,
                    "teacher",
                    "true" if teacher_id == lead else "false",
                    self.begin,
                    self.end,
                )

    def session_rows(self) -> Iterator[tuple[str, ...]]:
        local = _LocalText(self.school.tz, LOCAL_FORMAT)
        for s in self.school.sessions:
            yield (
                s.source_id,
                s.name,
                local(s.start_at),
                local(s.end_at),
                ",".join(s.group_ids),
                ",".join(s.instructor_ids),
                ",".join(s.learner_ids),
                ",".join(s.exempt_learner_ids),
                s.room_name or "",
                s.room_code or "",
                s.description,
            )


class _LocalText:
    """Formats instants as local wall-clock text, caching the many repeated instants."""

    def __init__(self, tz: ZoneInfo, fmt: str) -> None:
        self.tz, self.fmt = tz, fmt
        self.cache: dict[datetime, str] = {}

    def __call__(self, moment: datetime) -> str:
        text = self.cache.get(moment)
        if text is None:
            text = self.cache[moment] = utc_to_local(moment, self.tz).strftime(self.fmt)
        return text


# --- iCalendar -----------------------------------------------------------------------------

_ICS_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"})


def ics_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11)."""
    return value.replace("\r\n", "\n").translate(_ICS_ESCAPES)


def fold_line(line: str) -> bytes:
    """One content line as UTF-8 + CRLF, folded at 75 octets without splitting a character."""
    raw = line.encode()
    if len(raw) <= 75:
        return raw + b"\r\n"
    parts, start, limit = [], 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte
            end -= 1
        parts.append(raw[start:end])
        start, limit = end, 74  # continuation lines begin with one space
    return b"\r\n ".join(parts) + b"\r\n"


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def vtimezone_lines(tz: ZoneInfo, first_on: date, last_on: date) -> list[str]:
    """A VTIMEZONE for `tz` listing its real offset changes between two dates (no RRULE)."""
    initial = datetime.combine(first_on, time(), UTC).astimezone(tz)
    kind = "DAYLIGHT" if initial.dst() else "STANDARD"
    offset = _offset(initial.utcoffset())
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz.key}", f"BEGIN:{kind}", "DTSTART:19700101T000000"]
    lines += [f"TZOFFSETFROM:{offset}", f"TZOFFSETTO:{offset}", f"TZNAME:{initial.tzname()}"]
    lines.append(f"END:{kind}")
    for change in offset_changes(tz, first_on, last_on):
        before, after = (change - timedelta(minutes=15)).astimezone(tz), change.astimezone(tz)
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        wall = (change + (before.utcoffset() or timedelta())).replace(tzinfo=None)
        lines += [f"BEGIN:{kind}", f"DTSTART:{wall:%Y%m%dT%H%M%S}"]
        lines += [f"TZOFFSETFROM:{_offset(before.utcoffset())}"]
        lines += [f"TZOFFSETTO:{_offset(after.utcoffset())}", f"TZNAME:{after.tzname()}"]
        lines.append(f"END:{kind}")
    return [*lines, "END:VTIMEZONE"]


def _event_lines(session: Session, tzid: str, local: _LocalText, stamp: str) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{session.source_id}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;TZID={tzid}:{local(session.start_at)}",
        f"DTEND;TZID={tzid}:{local(session.end_at)}",
        f"SUMMARY:{ics_text(session.name)}",
    ]
    if session.room_name:
        lines.append(f"LOCATION:{ics_text(session.room_name)}")
    if session.description:
        lines.append(f"DESCRIPTION:{ics_text(session.description)}")
    for name, ids in (
        ("CLASS", session.group_ids),
        ("INSTRUCTOR", session.instructor_ids),
        ("LEARNER", session.learner_ids),
        ("EXEMPT", session.exempt_learner_ids),
    ):
        if ids:
            lines.append(f"X-ROLLBRIDGE-{name}:{','.join(ids)}")
    if session.room_code:
        lines.append(f"X-ROLLBRIDGE-ROOM-CODE:{ics_text(session.room_code)}")
    lines.append("END:VEVENT")
    return lines


def iter_ics(school: SyntheticSchool) -> Iterator[bytes]:
    """The school's sessions as iCalendar content lines (UTF-8, CRLF, folded), streamed."""
    tzid = school.tz.key
    stamp = (
        f"{datetime.combine(school.year_start - timedelta(days=7), time(6), UTC):%Y%m%dT%H%M%SZ}"
    )
    local = _LocalText(school.tz, "%Y%m%dT%H%M%S")
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//rollbridge//sandbox school//FR",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{ics_text(school.name)} {school.school_year}",
        *vtimezone_lines(school.tz, school.year_start, school.year_end),
    ]
    yield from map(fold_line, head)
    for session in school.sessions:
        yield from map(fold_line, _event_lines(session, tzid, local, stamp))
    yield fold_line("END:VCALENDAR")


def sessions_ics(school: SyntheticSchool) -> bytes:
    """The whole iCalendar file as bytes, for emulators that serve it over HTTP."""
    return b"".join(iter_ics(school))
