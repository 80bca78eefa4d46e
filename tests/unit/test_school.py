"""The synthetic school: determinism, sizes, calendar and DST, planted quirks, written files."""

from __future__ import annotations

import csv
import hashlib
import itertools
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from rollbridge.model import Group, Person, attr_values
from rollbridge.sandbox.school import (
    STUDY_SUBJECT,
    SyntheticSchool,
    email_slug,
    generate_school,
    school_counts,
)
from rollbridge.sandbox.school_files import (
    SESSIONS_COLUMNS,
    USERS_COLUMNS,
    SchoolFiles,
    fold_line,
    write_school_files,
)

YEAR = date(2026, 9, 1)
PARIS = ZoneInfo("Europe/Paris")
VALID_EMAIL = re.compile(r"[a-z0-9][a-z0-9.-]*@[a-z0-9-]+(\.[a-z0-9-]+)*\.test")
EXPECTED = {
    "small": {"learners": 60, "groups": 4, "instructors": 8, "sessions": 600},
    "medium": {"learners": 400, "groups": 20, "instructors": 30, "sessions": 3_000},
    "large": {"learners": 3_000, "groups": 150, "instructors": 200, "sessions": 60_000},
}


@pytest.fixture(scope="module")
def small() -> SyntheticSchool:
    return generate_school(7, "small", year_start=YEAR)


@pytest.fixture(scope="module")
def medium() -> SyntheticSchool:
    return generate_school(7, "medium", year_start=YEAR)


@pytest.fixture(scope="module", params=["small", "medium"])
def school(
    request: pytest.FixtureRequest, small: SyntheticSchool, medium: SyntheticSchool
) -> SyntheticSchool:
    return small if request.param == "small" else medium


@pytest.fixture(scope="module")
def small_files(small: SyntheticSchool, tmp_path_factory: pytest.TempPathFactory) -> SchoolFiles:
    return write_school_files(small, tmp_path_factory.mktemp("small"))


def digests(files: SchoolFiles) -> dict[str, str]:
    return {
        p.relative_to(files.folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files.paths
    }


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def local(moment: datetime, tz: ZoneInfo = PARIS) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def assert_near(actual: int, expected: int, tolerance: float = 0.05) -> None:
    assert abs(actual - expected) <= expected * tolerance, (actual, expected)


def learners_of(school: SyntheticSchool) -> list[Person]:
    return [p for p in school.people if p.role == "learner"]


def overlaps(intervals: list[tuple[datetime, datetime]]) -> int:
    intervals.sort()
    return sum(1 for a, b in itertools.pairwise(intervals) if b[0] < a[1])


# --- determinism ----------------------------------------------------------------------------


def test_same_inputs_give_byte_identical_files(small_files: SchoolFiles, tmp_path: Path) -> None:
    again = write_school_files(generate_school(7, "small", year_start=YEAR), tmp_path)
    assert digests(again) == digests(small_files)
    assert len(digests(again)) == 9


def test_files_do_not_depend_on_the_hash_seed(small_files: SchoolFiles, tmp_path: Path) -> None:
    script = (
        "import sys, hashlib; from datetime import date; from pathlib import Path;"
        "from rollbridge.sandbox.school import generate_school;"
        "from rollbridge.sandbox.school_files import write_school_files;"
        "school = generate_school(7, 'small', year_start=date(2026, 9, 1));"
        "f = write_school_files(school, Path(sys.argv[1]));"
        "print(''.join(hashlib.sha256(p.read_bytes()).hexdigest() for p in f.paths))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(result.stdout.strip())
    assert outputs == {"".join(digests(small_files).values())}


def test_another_seed_gives_another_school(small_files: SchoolFiles, tmp_path: Path) -> None:
    other = write_school_files(generate_school(8, "small", year_start=YEAR), tmp_path)
    mine, theirs = digests(small_files), digests(other)
    for name in ("oneroster/users.csv", "sessions.csv", "sessions.ics"):
        assert mine[name] != theirs[name]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="July and October"):
        generate_school(1, "small", year_start=date(2027, 1, 4))
    with pytest.raises(ValueError, match="offset change"):
        generate_school(1, "small", year_start=date(2026, 10, 28))
    with pytest.raises(ValueError, match="unknown size"):
        generate_school(1, "huge", year_start=YEAR)  # type: ignore[arg-type]


# --- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "medium"])
def test_sizes_match_the_profile(
    size: str, small: SyntheticSchool, medium: SyntheticSchool
) -> None:
    counts = school_counts(small if size == "small" else medium)
    for kind, expected in EXPECTED[size].items():
        assert_near(counts[kind], expected)
    assert_near(counts["tutors"], EXPECTED[size]["learners"] // 3)
    assert counts["memberships"] >= counts["learners"]
    assert counts["tutor_links"] >= counts["tutors"]


@pytest.mark.slow
def test_large_school_is_quick_and_full_size() -> None:
    began = time.perf_counter()
    large = generate_school(7, "large", year_start=YEAR)
    elapsed = time.perf_counter() - began
    counts = school_counts(large)
    for kind, expected in EXPECTED["large"].items():
        assert_near(counts[kind], expected)
    assert_near(counts["tutors"], 1_000)
    assert elapsed < 10
    by_group: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for s in large.sessions:
        by_group[s.group_ids[0]].append((s.start_at, s.end_at))
    assert sum(overlaps(v) for v in by_group.values()) == 0
    assert len(large.quirks.sessions_without_instructor_ids) == 600


# --- sessions and calendar ------------------------------------------------------------------


def test_sessions_are_utc_inside_the_year_on_open_weekdays(school: SyntheticSchool) -> None:
    assert date(2027, 6, 1) <= school.year_end <= date(2027, 7, 31)
    for s in school.sessions:
        assert s.start_at.tzinfo is UTC
        assert s.end_at.tzinfo is UTC
        start, end = local(s.start_at), local(s.end_at)
        assert start.date() == end.date()
        assert school.year_start <= start.date() <= school.year_end
        assert start.weekday() < 5
        assert school.is_open(start.date()), s.source_id
        assert start.hour >= 8
        assert (end.hour, end.minute) <= (18, 0)
        assert timedelta(minutes=90) <= s.end_at - s.start_at <= timedelta(hours=4)


def test_no_group_instructor_or_room_is_in_two_places(school: SyntheticSchool) -> None:
    by_group: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_instructor: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_room: dict[tuple[str, str | None], list[tuple[datetime, datetime]]] = defaultdict(list)
    for s in school.sessions:
        span = (s.start_at, s.end_at)
        for group_id in s.group_ids:
            by_group[group_id].append(span)
        for instructor_id in s.instructor_ids:
            by_instructor[instructor_id].append(span)
        by_room[(attr_values(s.attrs, "org")[0], s.room_code)].append(span)
    assert sum(overlaps(v) for v in by_group.values()) == 0
    assert sum(overlaps(v) for v in by_instructor.values()) == 0
    assert sum(overlaps(v) for v in by_room.values()) == 0


def test_holidays_are_empty_and_shaped_like_french_breaks(small: SyntheticSchool) -> None:
    names = [h.name for h in small.holidays]
    assert names == [
        "Vacances de la Toussaint",
        "Vacances de Noël",
        "Vacances d'hiver",
        "Vacances de printemps",
    ]
    noel = small.holidays[1]
    assert noel.first_on <= date(2026, 12, 25)
    assert date(2027, 1, 1) <= noel.last_on
    assert date(2027, 3, 29) in small.public_holidays  # Easter Monday
    session_days = {local(s.start_at).date() for s in small.sessions}
    for holiday in small.holidays:
        assert (holiday.last_on - holiday.first_on).days in (8, 15)
        assert not any(holiday.first_on <= d <= holiday.last_on for d in session_days)
    assert not session_days & set(small.public_holidays)


def test_alternance_groups_attend_only_some_weeks(medium: SyntheticSchool) -> None:
    weeks: dict[str, set[int]] = defaultdict(set)
    for s in medium.sessions:
        weeks[s.group_ids[0]].add(local(s.start_at).isocalendar().week)
    teaching = [g for g in medium.groups if not g.name.startswith(STUDY_SUBJECT)]
    full_time = [
        len(weeks[g.source_id]) for g in teaching if ("family:Rythme", "Temps plein") in g.attrs
    ]
    alternance = [
        len(weeks[g.source_id]) for g in teaching if ("family:Rythme", "Alternance") in g.attrs
    ]
    assert full_time
    assert alternance
    assert min(alternance) < max(full_time) * 0.6  # week-on, weeks-off rhythms exist


# --- DST ------------------------------------------------------------------------------------


def test_dst_days_hold_0830_sessions_with_the_right_offsets(school: SyntheticSchool) -> None:
    # Friday before / Monday after October; Friday before / Tuesday after March (Easter Monday).
    assert school.quirks.dst_days == (
        date(2026, 10, 23),
        date(2026, 10, 26),
        date(2027, 3, 26),
        date(2027, 3, 30),
    )
    expected_utc_hour = {
        date(2026, 10, 23): 6,
        date(2026, 10, 26): 7,
        date(2027, 3, 26): 7,
        date(2027, 3, 30): 6,
    }
    for day, hour in expected_utc_hour.items():
        at_0830 = [
            s
            for s in school.sessions
            if local(s.start_at) == datetime(day.year, day.month, day.day, 8, 30)
        ]
        assert at_0830, day
        for s in at_0830:
            assert s.start_at == datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC)
            assert s.start_at.astimezone(PARIS).utcoffset() == timedelta(hours=8 - hour)
    on_dst_days = {
        s.source_id for s in school.sessions if local(s.start_at).date() in expected_utc_hour
    }
    assert set(school.quirks.dst_session_ids) == on_dst_days


def test_a_zone_without_dst_has_no_dst_days(tmp_path: Path) -> None:
    reunion = ZoneInfo("Indian/Reunion")
    school = generate_school(3, "small", year_start=YEAR, tz=reunion)
    assert school.quirks.dst_days == ()
    assert school.quirks.dst_session_ids == ()
    first = school.sessions[0]
    assert local(first.start_at, reunion) - first.start_at.replace(tzinfo=None) == timedelta(
        hours=4
    )
    files = write_school_files(school, tmp_path)
    calendar = icalendar.Calendar.from_ical(files.sessions_ics.read_bytes())
    event = next(iter(calendar.walk("VEVENT")))
    assert event["DTSTART"].dt.astimezone(UTC) == first.start_at


# --- quirks -----------------------------------------------------------------------------------


def test_invalid_emails_are_planted_and_others_are_clean(school: SyntheticSchool) -> None:
    invalid = set(school.quirks.invalid_email_learner_ids)
    learners = learners_of(school)
    assert 3 <= len(invalid) <= max(3, len(learners) * 0.01)
    kinds = set()
    emails: list[str] = []
    for person in school.people:
        if person.source_id in invalid:
            if person.email is None:
                kinds.add("empty")
            else:
                assert not VALID_EMAIL.fullmatch(person.email)
                kinds.add("no-at" if "@" not in person.email else "no-domain")
        else:
            assert person.email is not None
            assert VALID_EMAIL.fullmatch(person.email), person
            emails.append(person.email)
    assert kinds == {"empty", "no-at", "no-domain"}
    assert len(emails) == len(set(emails))


def test_sessions_without_instructor_belong_to_teacherless_study_groups(
    school: SyntheticSchool,
) -> None:
    without = set(school.quirks.sessions_without_instructor_ids)
    assert without == {s.source_id for s in school.sessions if not s.instructor_ids}
    assert_near(len(without), len(school.sessions) // 100, 0.1)
    study_groups = {s.group_ids[0] for s in school.sessions if s.source_id in without}
    assert all(s.name == STUDY_SUBJECT for s in school.sessions if s.source_id in without)
    for s in school.sessions:
        if s.group_ids[0] in study_groups:
            assert not s.instructor_ids
        else:
            assert 1 <= len(s.instructor_ids) <= 2
    assert any(len(s.instructor_ids) == 2 for s in school.sessions)


def test_exemptions_are_about_half_a_percent_of_pairs(school: SyntheticSchool) -> None:
    members: dict[str, set[str]] = defaultdict(set)
    for m in school.memberships:
        members[m.group_id].add(m.learner_id)
    pairs = sum(len(members[s.group_ids[0]]) for s in school.sessions)
    exempt = school.quirks.exempt_pairs
    assert 0.003 <= len(exempt) / pairs <= 0.012
    session_by_id = {s.source_id: s for s in school.sessions}
    for session_id, learner_id in exempt:
        assert learner_id in members[session_by_id[session_id].group_ids[0]]
        assert learner_id in session_by_id[session_id].exempt_learner_ids
    assert len(exempt) == sum(len(s.exempt_learner_ids) for s in school.sessions)


def test_unicode_names_are_planted(school: SyntheticSchool) -> None:
    people = {p.source_id: p for p in school.people}
    names = {(people[i].first_name, people[i].last_name) for i in school.quirks.unicode_name_ids}
    assert {
        ("Éloïse", "N'Diaye"),
        ("Hervé-Joël", "Le Bihan"),
        ("Ægir", "Østergaard"),
        ("小明", "王"),
    } <= names
    for person in school.people:
        plain = re.fullmatch(r"[A-Za-z ]*", person.first_name + person.last_name)
        assert (person.source_id in school.quirks.unicode_name_ids) == (plain is None)
    by_name = {(p.first_name, p.last_name): p for p in school.people}
    assert str(by_name[("Éloïse", "N'Diaye")].email).startswith("eloise.ndiaye")
    assert str(by_name[("小明", "王")].email).startswith("xiaoming.wang")
    assert email_slug("Østergaard") == "ostergaard"
    assert email_slug("王") == ""


def test_badges_for_about_seventy_percent_of_learners(medium: SyntheticSchool) -> None:
    badges = [p.badge_id for p in learners_of(medium) if p.badge_id]
    assert 0.6 <= len(badges) / len(learners_of(medium)) <= 0.8
    assert len(badges) == len(set(badges))
    assert all(p.badge_id is None for p in medium.people if p.role != "learner")


def test_tutors_follow_apprentices(school: SyntheticSchool) -> None:
    people = {p.source_id: p for p in school.people}
    rhythm = {g.source_id: attr_values(g.attrs, "family:Rythme")[0] for g in school.groups}
    study = {g.source_id for g in school.groups if g.name.startswith(STUDY_SUBJECT)}
    group_of = {m.learner_id: m.group_id for m in school.memberships if m.group_id not in study}
    load = Counter(link.tutor_id for link in school.tutor_links)
    tutors = [p for p in school.people if p.role == "tutor"]
    assert set(load) == {t.source_id for t in tutors}
    assert max(load.values()) <= 3
    assert len({link.learner_id for link in school.tutor_links}) == len(school.tutor_links)
    for link in school.tutor_links:
        learner, tutor = people[link.learner_id], people[link.tutor_id]
        assert learner.role == "learner"
        assert tutor.role == "tutor"
        assert rhythm[group_of[learner.source_id]] == "Alternance"
        assert learner.company == tutor.company
        assert tutor.company


def test_records_carry_routing_attributes(small: SyntheticSchool, medium: SyntheticSchool) -> None:
    assert {attr_values(g.attrs, "org")[0] for g in small.groups} == {"site-paris"}
    assert {attr_values(g.attrs, "org")[0] for g in medium.groups} == {"site-paris", "site-lyon"}
    for school in (small, medium):
        records: list[Person | Group] = [*learners_of(school), *school.groups]
        for record in records:
            for name in ("org", "org_name", "family:Formation", "family:Promotion"):
                assert attr_values(record.attrs, name), (record, name)
            assert attr_values(record.attrs, "family:Promotion") == ("2026-2027",)
        for s in school.sessions:
            assert len(attr_values(s.attrs, "org")) == 1
            assert attr_values(s.attrs, "subject") == (s.name,)
            assert s.room_name
            assert s.room_code
    assert any(re.fullmatch(r".+ \d — Groupe [A-Z]", g.name) for g in medium.groups)


def test_instructors_teach_several_groups(medium: SyntheticSchool) -> None:
    groups: dict[str, set[str]] = defaultdict(set)
    for s in medium.sessions:
        for instructor_id in s.instructor_ids:
            groups[instructor_id].add(s.group_ids[0])
    assert sum(len(g) for g in groups.values()) / len(groups) >= 2


# --- files ------------------------------------------------------------------------------------


def test_manifest_and_headers(small_files: SchoolFiles) -> None:
    manifest = {row["propertyName"]: row["value"] for row in read_rows(small_files.manifest)}
    assert manifest["manifest.version"] == "1.0"
    assert manifest["oneroster.version"] == "1.2"
    bulk = {k.removeprefix("file.") for k, v in manifest.items() if v == "bulk"}
    assert bulk == {"users", "classes", "enrollments", "orgs", "academicSessions", "roles"}
    assert {v for k, v in manifest.items() if k.startswith("file.")} == {"bulk", "absent"}
    with small_files.users.open(encoding="utf-8", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == USERS_COLUMNS


def test_users_csv_round_trips(small: SyntheticSchool, small_files: SchoolFiles) -> None:
    rows = {row["sourcedId"]: row for row in read_rows(small_files.users)}
    assert list(rows) == [p.source_id for p in small.people]
    tutors: dict[str, list[str]] = defaultdict(list)
    for link in small.tutor_links:
        tutors[link.learner_id].append(link.tutor_id)
    for person in small.people:
        row = rows[person.source_id]
        assert (row["givenName"], row["familyName"]) == (person.first_name, person.last_name)
        assert row["email"] == (person.email or "")
        assert row["userIds"] == (f"{{badge:{person.badge_id}}}" if person.badge_id else "")
        assert (
            row["agentSourcedIds"].split(",") == sorted(tutors[person.source_id])
            or not tutors[person.source_id]
        )
        assert row["primaryOrgSourcedId"] in attr_values(person.attrs, "org")
    roles = Counter((row["userSourcedId"], row["role"]) for row in read_rows(small_files.roles))
    expected_role = {"learner": "student", "instructor": "teacher", "tutor": "relative"}
    assert all(roles[(p.source_id, expected_role[p.role])] >= 1 for p in small.people)


def test_classes_and_enrollments_round_trip(
    small: SyntheticSchool, small_files: SchoolFiles
) -> None:
    classes = {row["sourcedId"]: row for row in read_rows(small_files.classes)}
    assert {g.source_id: g.name for g in small.groups} == {
        k: r["title"] for k, r in classes.items()
    }
    enrollments = read_rows(small_files.enrollments)
    students = {
        (r["userSourcedId"], r["classSourcedId"]) for r in enrollments if r["role"] == "student"
    }
    assert students == {(m.learner_id, m.group_id) for m in small.memberships}
    teachers = {
        (r["userSourcedId"], r["classSourcedId"]) for r in enrollments if r["role"] == "teacher"
    }
    taught = {(i, s.group_ids[0]) for s in small.sessions for i in s.instructor_ids}
    assert teachers == taught
    study = {s.group_ids[0] for s in small.sessions if not s.instructor_ids}
    assert study
    assert not {c for _, c in teachers} & study
    assert {classes[c]["classType"] for c in study} == {"scheduled"}


def test_sessions_csv_round_trips(small: SyntheticSchool, small_files: SchoolFiles) -> None:
    with small_files.sessions_csv.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert tuple(next(reader)) == SESSIONS_COLUMNS
        rows = list(reader)
    assert len(rows) == len(small.sessions)

    def ids(text: str) -> tuple[str, ...]:
        return tuple(text.split(",")) if text else ()

    for row, s in zip(rows, small.sessions, strict=True):
        record = dict(zip(SESSIONS_COLUMNS, row, strict=True))
        assert record["session_id"] == s.source_id
        assert record["title"] == s.name
        assert datetime.fromisoformat(record["start"]) == local(s.start_at)
        assert datetime.fromisoformat(record["end"]) == local(s.end_at)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", record["start"])
        assert ids(record["class_ids"]) == s.group_ids
        assert ids(record["instructor_ids"]) == s.instructor_ids
        assert ids(record["learner_ids"]) == s.learner_ids
        assert ids(record["exempt_learner_ids"]) == s.exempt_learner_ids
        assert (record["room_name"], record["room_code"]) == (s.room_name, s.room_code)
        assert record["description"] == s.description
    assert any("\n" in s.description and "," in s.description for s in small.sessions)


def test_ics_parses_and_agrees_with_the_sessions(
    small: SyntheticSchool, small_files: SchoolFiles
) -> None:
    raw = small_files.sessions_ics.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n")
    physical = raw.split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical)  # some lines were folded
    assert b"DTSTART;TZID=Europe/Paris:20261023T083000" in raw
    calendar = icalendar.Calendar.from_ical(raw)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == len(small.sessions)
    for event, s in zip(events, small.sessions, strict=True):
        assert str(event["UID"]) == s.source_id
        assert str(event["SUMMARY"]) == s.name
        assert event["DTSTART"].dt.astimezone(UTC) == s.start_at
        assert event["DTEND"].dt.astimezone(UTC) == s.end_at
        assert str(event["LOCATION"]) == s.room_name
        assert str(event["X-ROLLBRIDGE-ROOM-CODE"]) == s.room_code
        assert str(event.get("DESCRIPTION", "")) == s.description
        assert str(event["X-ROLLBRIDGE-CLASS"]).split(",") == list(s.group_ids)
        assert str(event.get("X-ROLLBRIDGE-INSTRUCTOR", "")) == ",".join(s.instructor_ids)
        assert str(event.get("X-ROLLBRIDGE-EXEMPT", "")) == ",".join(s.exempt_learner_ids)


def test_ics_vtimezone_lists_both_changes(small_files: SchoolFiles) -> None:
    calendar = icalendar.Calendar.from_ical(small_files.sessions_ics.read_bytes())
    (zone,) = calendar.walk("VTIMEZONE")
    starts = [str(c["DTSTART"].to_ical(), "ascii") for c in zone.subcomponents]
    assert starts[1:] == ["20261025T030000", "20270328T020000"]


def test_fold_line_keeps_characters_whole() -> None:
    line = "DESCRIPTION:" + "é" * 80 + "王" * 30
    folded = fold_line(line)
    parts = folded.split(b"\r\n")
    assert parts[-1] == b""
    assert all(len(part) <= 75 for part in parts)
    assert all(part.decode() for part in parts[:-1])  # each physical line is valid UTF-8
    assert folded.replace(b"\r\n ", b"").decode() == line + "\r\n"
    assert fold_line("SUMMARY:court") == b"SUMMARY:court\r\n"


def test_school_counts_names_every_kind(small: SyntheticSchool) -> None:
    counts = school_counts(small)
    assert set(counts) == {
        "learners",
        "instructors",
        "tutors",
        "groups",
        "sessions",
        "memberships",
        "tutor_links",
    }
    assert counts["sessions"] == len(small.sessions)


def test_every_oneroster_file_has_its_own_header(small_files: SchoolFiles) -> None:
    # Regression: academicSessions.csv was once written with the sessions CSV's columns.
    with small_files.academic_sessions.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ]
    assert rows[0]["type"] == "schoolYear"
    with small_files.sessions_csv.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle))[:4] == ["session_id", "title", "start", "end"]
