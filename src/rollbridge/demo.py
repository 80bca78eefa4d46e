"""`rollbridge demo`: the whole product on one machine, in about a minute.

Starts the Edusign emulator on loopback, generates a synthetic school, writes it as the
"files" source (OneRoster + sessions), syncs down, simulates a day of signatures,
absences, lateness, early departures and justifications in Edusign, syncs up, then shows
that running both again writes nothing.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.rule import Rule

from rollbridge.bootstrap import build_context, open_store, paths_for
from rollbridge.config import load_config
from rollbridge.engine import sync_down, sync_up
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.school import SyntheticSchool, generate_school
from rollbridge.sandbox.school_files import write_school_files

from .cli.render import render_report

DEMO_KEY = "demo-edusign-key-0001"
TZ = ZoneInfo("Europe/Paris")


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


def write_demo_config(
    folder: Path, files: Any, school: SyntheticSchool, url: str, days_back: int
) -> Path:
    """A tenant config pointing at the generated files and the emulator."""
    config = folder / "rollbridge.toml"
    config.write_text(
        f'''tenant = "demo-school"
timezone = "Europe/Paris"

[school_year]
start = {school.year_start.isoformat()}
end = {school.year_end.isoformat()}

[source]
kind = "files"
oneroster = "{files.oneroster}"
sessions = "{files.sessions_csv}"
attendance_out = "{folder / "attendance.csv"}"

[options]
tutors = true
tag_attributes = ["org_name"]
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


def run_demo(
    console: Console, *, size: str = "small", seed: int = 7, workdir: Path | None = None
) -> int:
    """Run the demo end to end; returns the exit code."""
    now = datetime.now(UTC)
    folder = workdir or Path(tempfile.mkdtemp(prefix="rollbridge-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    console.print(Rule("rollbridge demo"))
    school = generate_school(seed, size, year_start=school_year_start(now.date()), tz=TZ)  # type: ignore[arg-type]
    files = write_school_files(school, folder / "school")
    counts = Counter(p.role for p in school.people)
    console.print(
        f"synthetic school (seed {seed}, {size}): {counts['learner']} learners, "
        f"{counts['instructor']} instructors, {counts['tutor']} tutors, "
        f"{len(school.groups)} groups, "
        f"{len(school.sessions)} sessions from {school.year_start} to {school.year_end}"
    )
    day = demo_day(school, now)
    days_back = max(7, (now.date() - day).days + 1)
    with EdusignSandbox.start_in_thread() as sandbox:
        sandbox.add_school(DEMO_KEY)
        sandbox.set_rate_limit(12000, "delay")  # a demo, not a lesson in Edusign's 480/min
        console.print(f"Edusign emulator on {sandbox.url}; files in {folder}")
        config_path = write_demo_config(folder, files, school, sandbox.url, days_back)
        config = load_config(config_path)
        store = open_store(paths_for(config_path))
        try:
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
            attendance = folder / "attendance.csv"
            if attendance.exists():
                lines = attendance.read_text(encoding="utf-8").splitlines()
                console.print(f"  {attendance} now holds {len(lines) - 1} rows; first ones:")
                for line in lines[:6]:
                    console.print(f"    {line}", highlight=False)

            console.print(Rule("4. the same again: nothing changed, so nothing is written"))
            sandbox.clear_log()
            again_down = sync_down(ctx)
            again_up = sync_up(ctx)
            writes = sandbox.writes()
            unchanged = sum(a.unchanged for a in again_down.accounts)
            marks = sum(a.marks_written for a in again_up.accounts)
            console.print(
                f"  second down run: {again_down.status}, {unchanged} objects unchanged; "
                f"second up run: {marks} marks written; Edusign write requests: {writes}"
            )
        finally:
            store.close()
    console.print(Rule("done"))
    ok = writes == 0 and again_down.status == "ok"
    console.print(
        "[green]idempotent: a second sync wrote nothing[/green]"
        if ok
        else "[red]a second sync wrote something: please report it[/red]"
    )
    return 0 if ok else 1
