"""`rollbridge demo`: the whole product on one machine, in about a minute.

Starts the Edusign emulator on loopback, generates a synthetic school, serves it as the
planning system (the "files" source: OneRoster + sessions; or the Hyperplanning emulator),
syncs down, simulates a day of signatures, absences, lateness, early departures and
justifications in Edusign, syncs up, then shows that running both again writes nothing.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.rule import Rule

from rollbridge.bootstrap import build_context, open_store, paths_for
from rollbridge.config import load_config
from rollbridge.engine import sync_down, sync_up
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sandbox.school import SyntheticSchool, generate_school
from rollbridge.sandbox.school_files import write_school_files

from .cli.render import render_report

DEMO_KEY = "demo-edusign-key-0001"
TZ = ZoneInfo("Europe/Paris")
DemoSource = Literal["files", "hyperplanning"]
SOURCES: tuple[DemoSource, ...] = ("files", "hyperplanning")
HP_ABSENCE = "AjouterAbsenceEtudiant"
HP_LATENESS = "CreerRetardEtudiant"


def school_year_start(today: date) -> date:
    """1 September of the school year `today` belongs to."""
    return date(today.year if today.month >= 8 else today.year - 1, 9, 1)


def demo_day(school: SyntheticSchool, now: datetime) -> date:
    """The most recent school day whose sessions have all ended by now (local date)."""
    last_end: dict[date, datetime] = {}
    for session in school.sessions:
        day = session.start_at.astimezone(TZ).date()
        last_end[day] = max(last_end.get(day, session.end_at), session.end_at)
    done = [day for day, end in last_end.items() if end + timedelta(minutes=20) <= now]
    if not done:
        raise RuntimeError("the synthetic school has no session before today")
    return max(done)


def _toml(value: str | Path) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(value), ensure_ascii=False)


def _write_config(
    folder: Path,
    school: SyntheticSchool,
    url: str,
    days_back: int,
    source_block: str,
    tag_attributes: tuple[str, ...],
) -> Path:
    """The tenant config shared by both sources: everything but the `[source]` table."""
    tags = ", ".join(_toml(tag) for tag in tag_attributes)
    config = folder / "rollbridge.toml"
    config.write_text(
        f'''tenant = "demo-school"
timezone = "Europe/Paris"

[school_year]
start = {school.year_start.isoformat()}
end = {school.year_end.isoformat()}

[source]
{source_block}
[options]
tutors = true
tag_attributes = [{tags}]
fallback_instructor_email = "formateur.a.definir@demo-school.test"

[sync]
days_back = {days_back}

[[accounts]]
name = "main"
api_key = "{DEMO_KEY}"
base_url = "{url}"
allow_insecure_http = true
rate_per_minute = 12000
max_concurrency = 8
''',
        encoding="utf-8",
    )
    return config


def write_demo_config(
    folder: Path, files: Any, school: SyntheticSchool, url: str, days_back: int
) -> Path:
    """A tenant config pointing at the generated files and the emulator."""
    source = (
        'kind = "files"\n'
        f"oneroster = {_toml(files.oneroster)}\n"
        f"sessions = {_toml(files.sessions_csv)}\n"
        f"attendance_out = {_toml(folder / 'attendance.csv')}\n"
    )
    return _write_config(folder, school, url, days_back, source, ("org_name",))


def write_hyperplanning_config(
    folder: Path,
    hp: HyperplanningSandbox,
    school: SyntheticSchool,
    url: str,
    days_back: int,
    families: tuple[str, ...] = ("Formation",),
) -> Path:
    """A tenant config pointing at the Hyperplanning emulator (credentials inline) and
    the Edusign emulator; `families` become tags."""
    labels = ", ".join(_toml(label) for label in families)
    source = (
        'kind = "hyperplanning"\n'
        f"url = {_toml(hp.url)}\n"
        "allow_insecure_http = true\n"
        f"username = {_toml(hp.username)}\n"
        f"password = {_toml(hp.password)}\n"
        f"tags_from_families = [{labels}]\n"
        f"state_dir = {_toml(folder / 'hyperplanning-state')}\n"
    )
    return _write_config(folder, school, url, days_back, source, ())


def hyperplanning_summary(writes: list[dict[str, Any]]) -> str:
    """What Hyperplanning received, from the emulator's write journal."""
    ops = Counter(str(w["op"]) for w in writes)
    justified = sum(1 for w in writes if w["op"] == HP_ABSENCE and w.get("justified"))
    others = ", ".join(
        f"{n} {op}" for op, n in sorted(ops.items()) if op not in (HP_ABSENCE, HP_LATENESS)
    )
    return f"{ops[HP_ABSENCE]} absences ({justified} justified), {ops[HP_LATENESS]} lateness" + (
        f"; also {others}" if others else ""
    )


def simulate_attendance(
    sandbox: EdusignSandbox, first: date, now: datetime, rng: random.Random
) -> Counter[str]:
    """On every session ended since `first`: learners sign, are absent, late, leave early;
    some absences get justified; instructors sign."""
    state = sandbox.dump(DEMO_KEY)
    outcomes: Counter[str] = Counter()
    for course in state["courses"]:
        start = datetime.fromisoformat(str(course["START"]).replace("Z", "+00:00"))
        if start.astimezone(TZ).date() < first:
            continue
        end = datetime.fromisoformat(str(course["END"]).replace("Z", "+00:00"))
        if end > now:
            continue
        sandbox.sign_professor(DEMO_KEY, course["ID"])
        for entry in course["STUDENTS"]:
            student = entry["studentId"]
            roll = rng.random()
            if roll < 0.78:
                sandbox.sign(DEMO_KEY, course["ID"], student)
                outcomes["present"] += 1
            elif roll < 0.84:
                sandbox.mark_late(DEMO_KEY, course["ID"], student, minutes=rng.choice((5, 10, 20)))
                outcomes["late"] += 1
            elif roll < 0.88:
                sandbox.sign(DEMO_KEY, course["ID"], student)
                sandbox.mark_left_early(
                    DEMO_KEY, course["ID"], student, at=end - timedelta(minutes=30)
                )
                outcomes["left early"] += 1
            elif roll < 0.94:
                sandbox.mark_absent(DEMO_KEY, course["ID"], student)
                outcomes["absent"] += 1
            else:
                sandbox.mark_absent(DEMO_KEY, course["ID"], student)
                sandbox.justify(DEMO_KEY, course["ID"], student)
                outcomes["absent (justified)"] += 1
    return outcomes


def _show_attendance_file(folder: Path, console: Console) -> None:
    attendance = folder / "attendance.csv"
    if attendance.exists():
        lines = attendance.read_text(encoding="utf-8").splitlines()
        console.print(f"  {attendance} now holds {len(lines) - 1} rows; first ones:")
        for line in lines[:6]:
            console.print(f"    {line}", highlight=False)


def run_demo(
    console: Console,
    *,
    size: str = "small",
    seed: int = 7,
    workdir: Path | None = None,
    source: DemoSource = "files",
) -> int:
    """Run the demo end to end; returns the exit code."""
    if source not in SOURCES:
        raise ValueError(f"unknown demo source {source!r}: one of {', '.join(SOURCES)}")
    now = datetime.now(UTC)
    folder = workdir or Path(tempfile.mkdtemp(prefix="rollbridge-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    console.print(Rule(f"rollbridge demo ({source})"))
    school = generate_school(seed, size, year_start=school_year_start(now.date()), tz=TZ)  # type: ignore[arg-type]
    counts = Counter(p.role for p in school.people)
    console.print(
        f"synthetic school (seed {seed}, {size}): {counts['learner']} learners, "
        f"{counts['instructor']} instructors, {counts['tutor']} tutors, "
        f"{len(school.groups)} groups, "
        f"{len(school.sessions)} sessions from {school.year_start} to {school.year_end}"
    )
    day = demo_day(school, now)
    days_back = max(7, (now.date() - day).days + 1)
    hp: HyperplanningSandbox | None = None
    with ExitStack() as stack:
        sandbox = stack.enter_context(EdusignSandbox.start_in_thread())
        sandbox.add_school(DEMO_KEY)
        sandbox.set_rate_limit(12000, "delay")  # a demo, not a lesson in Edusign's 480/min
        if source == "hyperplanning":
            hp = stack.enter_context(HyperplanningSandbox.start_in_thread(school=school))
            console.print(
                f"Edusign emulator on {sandbox.url}; Hyperplanning emulator on {hp.url}; "
                f"files in {folder}"
            )
            config_path = write_hyperplanning_config(folder, hp, school, sandbox.url, days_back)
        else:
            files = write_school_files(school, folder / "school")
            console.print(f"Edusign emulator on {sandbox.url}; files in {folder}")
            config_path = write_demo_config(folder, files, school, sandbox.url, days_back)
        config = load_config(config_path)
        store = stack.enter_context(open_store(paths_for(config_path)))
        ctx = build_context(config, store)
        console.print(Rule("1. sync down (first run: everything is created)"))
        render_report(sync_down(ctx), console)

        first = now.date() - timedelta(days=days_back)
        console.print(Rule(f"2. in Edusign: every session ended since {first:%A %d %B}"))
        outcomes = simulate_attendance(sandbox, first, now, random.Random(seed))
        console.print(
            "  simulated: " + ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        )

        console.print(Rule("3. sync up (attendance back to the planning system)"))
        render_report(sync_up(ctx), console)
        hp_writes = 0
        if hp is not None:
            received = hp.writes()
            hp_writes = len(received)
            console.print(f"  Hyperplanning received: {hyperplanning_summary(received)}")
        else:
            _show_attendance_file(folder, console)

        console.print(Rule("4. the same again: nothing changed, so nothing is written"))
        sandbox.clear_log()
        again_down = sync_down(ctx)
        again_up = sync_up(ctx)
        writes = sandbox.writes()
        new_hp_writes = 0 if hp is None else len(hp.writes()) - hp_writes
        unchanged = sum(a.unchanged for a in again_down.accounts)
        marks = sum(a.marks_written for a in again_up.accounts)
        console.print(
            f"  second down run: {again_down.status}, {unchanged} objects unchanged; "
            f"second up run: {marks} marks written; Edusign write requests: {writes}"
            + (f"; new Hyperplanning writes: {new_hp_writes}" if hp is not None else "")
        )
    console.print(Rule("done"))
    ok = writes == 0 and new_hp_writes == 0 and again_down.status == "ok"
    console.print(
        "[green]idempotent: a second sync wrote nothing[/green]"
        if ok
        else "[red]a second sync wrote something: please report it[/red]"
    )
    return 0 if ok else 1
