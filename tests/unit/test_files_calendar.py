"""Planning files: the sessions CSV contract and iCalendar (ADE exports), across DST."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from rollbridge.model import Session, Window
from rollbridge.sources.files.calendar import (
    SESSION_COLUMNS,
    PlannedSession,
    SessionFile,
    SessionRow,
    parse_ics,
    parse_sessions,
    parse_sessions_csv,
    write_sessions_csv,
)
from rollbridge.sources.files.ical import iter_events, split_line, unescape, unfold
from rollbridge.sources.files.icaltime import TimeValueError, parse_duration, resolve_zone

PARIS = ZoneInfo("Europe/Paris")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "files"
_REAL = Path(__file__).resolve().parents[3] / "shared" / "real-world"
REAL = _REAL if _REAL.exists() else Path("/work/shared/real-world")
needs_real = pytest.mark.skipif(not REAL.exists(), reason="no shared real-world samples here")
YEAR = Window(date(2026, 9, 1), date(2027, 7, 31))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def by_id(found: SessionFile) -> dict[str, PlannedSession]:
    return {s.source_id: s for s in found.sessions}


def reasons(found: SessionFile) -> dict[str, str]:
    return {r.source_id: r.reason for r in found.rejected}


def csv_fixture() -> SessionFile:
    path = FIXTURES / "sessions_paris.csv"
    return parse_sessions_csv(path.read_bytes(), tz=PARIS, origin=str(path))


# --------------------------------------------------------------------------- CSV


def test_csv_times_land_on_the_right_utc_instants_across_both_dst_changes() -> None:
    sessions = by_id(csv_fixture())
    # Last Sunday of October 2026 is the 25th: CEST (+2) before, CET (+1) after.
    assert sessions["ses-oct24"].start_at == utc(2026, 10, 24, 7, 0)
    assert sessions["ses-oct26"].start_at == utc(2026, 10, 26, 8, 0)  # "2026-10-26 09:00"
    # Last Sunday of March 2027 is the 28th: CET before, CEST after.
    assert sessions["ses-mar27"].start_at == utc(2027, 3, 27, 8, 0)
    assert sessions["ses-mar29"].start_at == utc(2027, 3, 29, 7, 0)
    assert sessions["ses-mar29"].end_at == utc(2027, 3, 29, 10, 0)


def test_csv_ambiguous_autumn_time_is_its_first_occurrence() -> None:
    night = by_id(csv_fixture())["ses-ambiguous"]
    assert night.start_at == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, before the clocks go back
    assert night.end_at == utc(2026, 10, 25, 2, 30)  # 03:30 exists once, in CET


def test_csv_nonexistent_local_time_is_rejected_with_reason() -> None:
    found = csv_fixture()
    assert "ses-gap" not in by_id(found)
    assert reasons(found)["ses-gap"] == (
        "start 2027-03-28T02:30 does not exist in Europe/Paris (clocks jump forward at that hour)"
    )
    gap = next(r for r in found.rejected if r.source_id == "ses-gap")
    assert gap.kind == "session"
    assert gap.label == "sessions_paris.csv:7"


def test_csv_bad_times_are_rejected_and_the_file_stays_whole() -> None:
    found = csv_fixture()
    why = reasons(found)
    assert why["ses-backwards"] == "end 2026-11-05T09:00 is not after start 2026-11-05T10:00"
    assert "'24/10/2026 09:00' is not a date and time" in why["ses-french-date"]
    assert found.is_whole  # rejected records, but every row was readable
    assert found.count == 14


def test_csv_offsets_and_z_are_taken_as_written() -> None:
    sessions = by_id(csv_fixture())
    assert sessions["ses-offset"].start_at == utc(2026, 11, 2, 8, 0)
    assert sessions["ses-zulu"].start_at == utc(2026, 11, 2, 10, 0)


def test_csv_columns_in_any_order_and_quoted_lists() -> None:
    multi = by_id(csv_fixture())["ses-multi"]
    assert multi.title == "Projet commun"
    assert multi.class_ids == ("cls-sio1", "cls-sio2")
    assert multi.instructor_ids == ("t-dupont",)
    assert multi.learner_ids == ("s-nguyen",)
    assert multi.exempt_learner_ids == ("s-leroy",)
    assert (multi.room_name, multi.room_code) == ("Amphi A, B", "AMPHI")
    assert multi.description == "Ligne 1\nLigne 2"
    assert by_id(csv_fixture())["ses-oct26"].instructor_ids == ()  # named none


def test_csv_without_required_columns_is_refused_whole() -> None:
    found = parse_sessions_csv(
        b"session_id,title,start\nx,y,2026-10-24T09:00\n", tz=PARIS, origin="s.csv"
    )
    assert found.sessions == ()
    assert not found.is_whole
    assert "the header lacks end" in found.rejected[0].reason


def test_csv_malformed_rows_are_rejected_with_line_and_the_rest_read() -> None:
    data = (
        b"session_id,title,start,end\r\n"
        b"a,Maths,2026-10-24T09:00,2026-10-24T10:00\r\n"
        b"b,Maths,2026-10-24T09:00\r\n"
        b'c,"Maths,2026-10-24T09:00,2026-10-24T10:00\r\n'
        b"d,Maths,2026-10-24T11:00,2026-10-24T12:00\r\n"
        b"a,Encore,2026-10-25T11:00,2026-10-25T12:00\r\n"
    )
    found = parse_sessions_csv(data, tz=PARIS, origin="/x/planning.csv")
    assert set(by_id(found)) == {"a", "d"}
    why = reasons(found)
    assert why["planning.csv:3"] == "has 3 fields, the header has 4"
    assert "badly quoted field" in why["planning.csv:4"]
    assert why["a"] == "session_id repeats an earlier row"
    assert not found.is_whole


def test_csv_saved_by_french_excel_with_semicolons_is_read() -> None:
    data = (
        "sep=;\r\nsession_id;title;start;end;class_ids\r\n"
        'a;Réunion;2026-10-24T09:00;2026-10-24T10:00;"cls-1,cls-2"\r\n'
    ).encode("cp1252")
    found = parse_sessions_csv(data, tz=PARIS, origin="excel.csv")
    assert found.rejected == ()
    only = by_id(found)["a"]
    assert (only.title, only.class_ids) == ("Réunion", ("cls-1", "cls-2"))


def test_write_sessions_csv_round_trips_through_the_parser(tmp_path: Path) -> None:
    sessions = [
        Session(
            "s1",
            "Réseaux, TP",
            utc(2026, 10, 24, 7),
            utc(2026, 10, 24, 9),
            ("t1",),
            ("c1", "c2"),
            room_name="B204",
            room_code="B",
            description="ligne 1\nligne 2",
        ),
        Session(
            "s2",
            "Maths",
            utc(2027, 3, 29, 7),
            utc(2027, 3, 29, 10),
            group_ids=("c1",),
            learner_ids=("l1",),
            exempt_learner_ids=("l2", "l3"),
        ),
    ]
    path = tmp_path / "sessions.csv"
    assert write_sessions_csv(path, [SessionRow.from_session(s, PARIS) for s in sessions]) == 2
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(SESSION_COLUMNS)
    assert "2026-10-24T09:00,2026-10-24T11:00" in text  # wall clock, no offset
    back = by_id(parse_sessions_csv(path.read_bytes(), tz=PARIS, origin=str(path)))
    for session in sessions:
        row = back[session.source_id]
        assert (row.title, row.start_at, row.end_at) == (
            session.name,
            session.start_at,
            session.end_at,
        )
        assert row.class_ids == session.group_ids
        assert row.learner_ids == session.learner_ids
        assert row.exempt_learner_ids == session.exempt_learner_ids
        assert row.description == session.description
    assert not list(tmp_path.glob(".*.tmp"))


def test_aware_rows_are_written_with_their_offset(tmp_path: Path) -> None:
    start = datetime(2026, 10, 24, 9, tzinfo=PARIS)
    row = SessionRow("s", "T", start, start + timedelta(hours=1))
    assert row.fields()[2] == "2026-10-24T09:00+02:00"


def test_sixty_thousand_csv_rows_parse_well_under_a_second(tmp_path: Path) -> None:
    slots = [(8, 0), (10, 15), (13, 30), (15, 45)]
    rows = []
    for i in range(60_000):
        day = datetime(2026, 9, 1) + timedelta(days=i % 300)
        hour, minute = slots[i % 4]
        start = day.replace(hour=hour, minute=minute)
        rows.append(
            SessionRow(
                f"ses-{i:06d}",
                f"Cours {i % 40}",
                start,
                start + timedelta(hours=2),
                (f"cls-{i % 150}",),
                (f"t-{i % 200}",),
                room_name="Salle 1",
            )
        )
    path = tmp_path / "big.csv"
    write_sessions_csv(path, rows)
    data = path.read_bytes()
    began = time.process_time()
    found = parse_sessions_csv(data, tz=PARIS, origin=str(path))
    spent = time.process_time() - began
    assert len(found.sessions) == 60_000
    assert spent < 1.0, f"parsing 60,000 rows took {spent:.2f} s of CPU"


# --------------------------------------------------------------------------- iCalendar


def ics_fixture(window: Window | None = YEAR) -> SessionFile:
    path = FIXTURES / "ade_like.ics"
    return parse_ics(path.read_bytes(), tz=PARIS, origin=str(path), window=window)


def test_fixture_folds_inside_an_accent_and_has_blank_lines() -> None:
    raw = (FIXTURES / "ade_like.ics").read_bytes()
    assert b"s\xc3\r\n \xa9ance" in raw  # "é" split by a fold
    assert b"\r\n\r\n" in raw  # an editor's stripped fold


def test_ics_ade_style_event_text_comes_out_right() -> None:
    found = ics_fixture()
    ade = by_id(found)["ADE60414e4e4545454e434f555253323032362d323032372d3132373437362d302d3133"]
    assert ade.title == "Mathématiques appliquées à l'informatique de gestion — séance n°1 élève"
    assert ade.start_at == utc(2026, 10, 24, 7)
    assert ade.room_name == "Salle B204,Salle B205"  # escaped comma
    # The export stamp changes at every export: dropped so sessions do not churn.
    assert ade.description == "BTS SIO 1\nDUPONT   Marie\nA valider"
    assert ade.hint_lines == ("BTS SIO 1", "DUPONT   Marie", "A valider")
    assert (ade.class_ids, ade.instructor_ids) == (None, None)  # to be matched


def test_ics_tzid_floating_and_windows_zones() -> None:
    sessions = by_id(ics_fixture())
    tzid = sessions["rb-tzid"]
    assert (tzid.start_at, tzid.end_at) == (utc(2026, 10, 26, 8), utc(2026, 10, 26, 10))
    assert tzid.class_ids == ("cls-sio2",)
    assert tzid.instructor_ids == ("t-martin",)
    assert (tzid.learner_ids, tzid.exempt_learner_ids) == (("s-leroy",), ("s-nguyen",))
    assert tzid.room_code == "B204"
    floating = sessions["rb-floating"]
    assert floating.start_at == utc(2027, 3, 29, 7)  # 09:00 CEST in the tenant's zone
    assert floating.hint_lines == ("CAP Cuisine", "Atelier")
    assert floating.hint_emails == ("francois.martin@lycee-jm.fr",)
    windows = sessions["rb-windows"]
    assert windows.start_at == utc(2026, 12, 1, 9)  # "Romance Standard Time" is Paris
    assert windows.description == ""  # the VALARM's DESCRIPTION is not the event's


def test_ics_all_day_gap_and_cancelled_events() -> None:
    found = ics_fixture()
    why = reasons(found)
    assert why["rb-allday"] == "all-day event on 2026-11-11: no time to sign"
    assert why["rb-gap"].startswith("start 2027-03-28T02:30 does not exist in Europe/Paris")
    assert found.cancelled == {"rb-cancelled"}
    assert "rb-cancelled" not in by_id(found)
    assert found.is_whole
    # Outside the window an all-day event is simply out of scope.
    later = ics_fixture(Window(date(2027, 1, 1), date(2027, 7, 31)))
    assert "rb-allday" not in reasons(later)


def test_ics_weekly_series_keeps_its_wall_clock_across_dst() -> None:
    sessions = by_id(ics_fixture())
    weekly = {key: s for key, s in sessions.items() if key.startswith("rb-weekly@")}
    assert sorted(weekly) == [
        "rb-weekly@20261020T120000Z",  # 14:00 CEST
        "rb-weekly@20261027T130000Z",  # 14:00 CET, after the change
        "rb-weekly@20261110T130000Z",  # moved by RECURRENCE-ID; 2026-11-03 excluded
    ]
    assert weekly["rb-weekly@20261027T130000Z"].end_at == utc(2026, 10, 27, 15)
    moved = weekly["rb-weekly@20261110T130000Z"]
    assert (moved.title, moved.start_at) == ("Atelier (déplacé)", utc(2026, 11, 10, 14))


def test_content_lines_params_and_escapes() -> None:
    assert split_line('ATTENDEE;CN="Martin, F: prof";ROLE=CHAIR:mailto:f@x.fr') == (
        "ATTENDEE",
        {"CN": "Martin, F: prof", "ROLE": "CHAIR"},
        "mailto:f@x.fr",
    )
    assert split_line("dtstart;tzid=Europe/Paris:20261026T090000") == (
        "DTSTART",
        {"TZID": "Europe/Paris"},
        "20261026T090000",
    )
    assert split_line("NO COLON") is None
    assert split_line('X;A="unclosed:value') is None
    assert unescape(r"a\,b\;c\nd\\e\Nf") == "a,b;c\nd\\e\nf"
    assert unfold(b"A:1\r\n 2\r\n\t3\nB:x\r\n") == ["A:123", "B:x", ""]


def test_durations_and_zones() -> None:
    assert parse_duration("PT1H30M") == timedelta(hours=1, minutes=30)
    assert parse_duration("P1DT2H") == timedelta(days=1, hours=2)
    assert parse_duration("-PT15M") == -timedelta(minutes=15)
    with pytest.raises(TimeValueError):
        parse_duration("PT1X")
    assert resolve_zone("/mozilla.org/20050126_1/Europe/Paris").key == "Europe/Paris"
    with pytest.raises(TimeValueError, match="unknown time zone"):
        resolve_zone("Mars/Olympus")


def test_duration_gives_the_end_and_unknown_zone_rejects() -> None:
    data = (
        b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:d1\nSUMMARY:Oral\n"
        b"DTSTART;TZID=Europe/Paris:20261024T090000\nDURATION:PT45M\nEND:VEVENT\n"
        b"BEGIN:VEVENT\nUID:d2\nSUMMARY:Oral\nDTSTART;TZID=Mars/Olympus:20261024T090000\n"
        b"DURATION:PT45M\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:No uid\n"
        b"DTSTART:20261024T090000Z\nDTEND:20261024T100000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    found = parse_ics(data, tz=PARIS, origin="x.ics", window=YEAR)
    assert by_id(found)["d1"].end_at == utc(2026, 10, 24, 7, 45)
    assert reasons(found)["d2"] == "unknown time zone TZID=Mars/Olympus"
    assert reasons(found)["x.ics#event3"] == "no UID"


def test_parse_sessions_chooses_the_format_by_name_or_content() -> None:
    ics = (FIXTURES / "ade_like.ics").read_bytes()
    assert parse_sessions(ics, tz=PARIS, origin="planning.txt", window=YEAR).count == 9
    csv = (FIXTURES / "sessions_paris.csv").read_bytes()
    assert parse_sessions(csv, tz=PARIS, origin="planning.csv", window=YEAR).count == 14


# --------------------------------------------------------------------------- real ADE exports

ADE = REAL / "ics"
ADE_FILES = {
    "ade_unamur_2021-02_to_05_spring-dst.ics": 37,
    "ade_umontpellier-fds_2024-01_to_05_spring-dst.ics": 93,
    "ade_iut-montpellier_2022-09_to_2023-01_autumn-dst.ics": 226,
    "ade_uclouvain_2019-09_to_2020-01_autumn-dst.ics": 144,
}


def real_ade(name: str) -> SessionFile:
    path = ADE / name
    return parse_ics(
        path.read_bytes(), tz=ZoneInfo("Europe/Brussels"), origin=str(path), window=None
    )


@needs_real
@pytest.mark.parametrize(("name", "count"), sorted(ADE_FILES.items()))
def test_real_ade_exports_parse_whole_and_agree_with_icalendar(name: str, count: int) -> None:
    found = real_ade(name)
    assert (len(found.sessions), found.rejected, found.is_whole) == (count, (), True)
    reference = icalendar.Calendar.from_ical((ADE / name).read_bytes())
    expected = {str(e["UID"]): e for e in reference.walk("VEVENT")}
    assert set(by_id(found)) == set(expected)
    for session in found.sessions:
        event = expected[session.source_id]
        assert session.start_at == event["DTSTART"].dt
        assert session.end_at == event["DTEND"].dt
        assert session.title == str(event["SUMMARY"])
        assert (session.room_name or "") == str(event.get("LOCATION", ""))
        assert "Export" not in session.description  # the per-export stamp is gone


@needs_real
def test_real_ade_dst_proofs_and_accents() -> None:
    # PROVENANCE.md: each file has a course keeping its local time across a DST change.
    unamur_file = real_ade("ade_unamur_2021-02_to_05_spring-dst.ics")
    unamur = [s for s in unamur_file.sessions if s.title == "Laboratoire"]
    proofs = {utc(2021, 3, 2, 15, 10), utc(2021, 3, 16, 15, 10), utc(2021, 3, 30, 14, 10)}
    assert proofs <= {s.start_at for s in unamur}
    brussels = ZoneInfo("Europe/Brussels")
    assert {(p.astimezone(brussels).hour, p.astimezone(brussels).minute) for p in proofs} == {
        (16, 10)
    }

    fds = by_id(real_ade("ade_umontpellier-fds_2024-01_to_05_spring-dst.ics"))
    ha2g11h = {s.start_at for s in fds.values() if s.title == "HA2G11H"}
    assert {utc(2024, 3, 19, 15, 45), utc(2024, 4, 2, 14, 45)} <= ha2g11h
    ecology = next(s for s in fds.values() if s.title == "HA2G11H")
    assert "Education à la Transition Ecologique" in ecology.description
    assert "GANAULT   PIERRE" in ecology.hint_lines

    iut = by_id(real_ade("ade_iut-montpellier_2022-09_to_2023-01_autumn-dst.ics"))
    comm = {s.start_at for s in iut.values() if s.title == "Bases de la comm."}
    assert {utc(2022, 10, 27, 14), utc(2022, 11, 10, 15)} <= comm
    # A UID folded at 73 characters whose continuation carries its end (" 33").
    assert any(key.endswith("2d302d3133") for key in iut)

    louvain = real_ade("ade_uclouvain_2019-09_to_2020-01_autumn-dst.ics").sessions
    lepl = {s.start_at for s in louvain if s.title == "LEPL1103-Q3"}
    assert {utc(2019, 10, 8, 8, 45), utc(2019, 10, 29, 9, 45)} <= lepl
    first = next(s for s in louvain if s.start_at == utc(2019, 10, 8, 8, 45))
    assert "Winckelmans Grégoire" in first.hint_lines
    assert "Remacle Jean-François" in first.hint_lines


@needs_real
def test_real_ade_unamur_accented_title() -> None:
    titles = {s.title for s in real_ade("ade_unamur_2021-02_to_05_spring-dst.ics").sessions}
    assert "Théorie des graphes et réseaux de Petri" in titles


def test_iter_events_skips_alarms_and_numbers_events() -> None:
    data = (FIXTURES / "ade_like.ics").read_bytes()
    skipped: list[str] = []
    events = list(iter_events(data, skipped))
    assert skipped == []
    assert [e.number for e in events] == list(range(1, 10))
    windows = events[-1]
    assert windows.text("UID") == "rb-windows"
    assert windows.first("DESCRIPTION") is None
