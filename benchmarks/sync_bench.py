"""Sync benchmark: prints one JSON object of figures (not part of the test run).

Large school, emulator without latency or limit:
  initial_writes, objects_synced, writes_per_object (target ≤ 1.05), initial_seconds,
  nochange_writes (target 0), nochange_plan_cpu_s (read + plan CPU seconds, target < 2; in
  the process that just ran the first sync, and again in a new process as a scheduled
  run starts),
  one_change_writes (target 1), peak_rss_mb (this process; target < 300).
Medium school, emulator latency 100 ms and limit 6,000 req/min (429 when exceeded):
  rate_ratio = achieved write requests per second ÷ the limit over the initial load
  (target ≥ 0.9), rate_limited_429 (target 0).

The emulator runs in its own process, the school is generated in a child process, so
`peak_rss_mb` measures rollbridge alone.

With `--source hyperplanning` the large-school figures read the school from the
Hyperplanning emulator (its own process too, seed 42) instead of files, and add
`soap_read_seconds` (wall time of one source read alone, WSDL included, before the first
sync) and `nochange_soap_cpu_s` (`…_fresh_process`): the part of each no-change figure
spent talking SOAP (WSDL, HTTP, XML parsing, the per-entity cache), so
`nochange_plan_cpu_s − nochange_soap_cpu_s` is rollbridge's own planning.
`one_change_writes` moves the last séance by an hour through the emulator. The rate
figures always use the files source.

    python benchmarks/sync_bench.py [--source files|hyperplanning] [--large large]
        [--medium medium] [--skip-rate] [--skip-large]
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rollbridge.bootstrap import build_source, client_factory
from rollbridge.config import TenantConfig, parse_config
from rollbridge.engine import RunContext, sync_down
from rollbridge.engine.down import sync_window
from rollbridge.logging import configure_logging
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sources.hyperplanning.ids import parse_session_id
from rollbridge.store import Store

KEY = "bench-key-0001"
TZ = ZoneInfo("Europe/Paris")
YEAR_START = date(2026, 9, 1)
# Before the school year starts: every session is in the window and in the future.
NOW = datetime(2026, 8, 31, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Paths:
    oneroster: str
    sessions_csv: str
    sessions: int


def _generate(size: str, folder: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from rollbridge.sandbox.school import generate_school
    from rollbridge.sandbox.school_files import write_school_files

    school = generate_school(42, size, year_start=YEAR_START, tz=TZ)  # type: ignore[arg-type]
    files = write_school_files(school, Path(folder))
    queue.put(Paths(str(files.oneroster), str(files.sessions_csv), len(school.sessions)))


def generate(size: str, folder: Path) -> Paths:
    """Generate the school in a child process so its memory is not ours."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_generate, args=(size, str(folder), queue))
    child.start()
    paths: Paths = queue.get(timeout=600)
    child.join()
    return paths


def files_source(folder: Path, paths: Paths) -> dict[str, Any]:
    return {
        "kind": "files",
        "oneroster": paths.oneroster,
        "sessions": paths.sessions_csv,
        "attendance_out": str(folder / "attendance.csv"),
    }


def hyperplanning_source(folder: Path, hp: HyperplanningSandbox) -> dict[str, Any]:
    return {
        "kind": "hyperplanning",
        "url": hp.url,
        "allow_insecure_http": True,
        "username": hp.username,
        "password": hp.password,
        "state_dir": str(folder / "hp-state"),
    }


def config_for(source: dict[str, Any], url: str, *, rate: int, concurrency: int) -> TenantConfig:
    return parse_config(
        {
            "tenant": "bench",
            "school_year": {"start": YEAR_START.isoformat(), "end": "2027-07-31"},
            "source": source,
            "options": {"tutors": True, "fallback_instructor_email": "formateur@bench.test"},
            "accounts": [
                {
                    "name": "main",
                    "api_key": KEY,
                    "base_url": url,
                    "allow_insecure_http": True,
                    "rate_per_minute": rate,
                    "max_concurrency": concurrency,
                }
            ],
        },
        source="bench",
    )


def context(config: TenantConfig, store: Store) -> RunContext:
    return RunContext(
        config=config,
        source=build_source(config),
        store=store,
        client_for=client_factory(config),
        clock=lambda: NOW,
    )


class SoapClock:
    """CPU seconds spent in the Hyperplanning gather (every SOAP call and its parsing):
    process-wide CPU, so the calls made on worker threads count too."""

    def __init__(self) -> None:
        self.seconds = 0.0
        from rollbridge.sources.hyperplanning import source as hp_source

        self._module = hp_source
        self._gather = hp_source.gather

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return self._gather(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - start

        hp_source.gather = timed  # type: ignore[assignment]


def plan_cpu_seconds(ctx: RunContext, soap: SoapClock | None = None) -> tuple[float, float]:
    """CPU seconds of a dry run (read the snapshot, shape, route, load links, plan), and
    the part of it spent in SOAP."""
    before = soap.seconds if soap else 0.0
    start = time.process_time()
    report = sync_down(ctx, dry_run=True)
    spent = time.process_time() - start
    planned = sum(sum(a.planned.values()) for a in report.accounts)
    assert planned == 0, report.accounts[0].planned
    return spent, (soap.seconds - before) if soap else 0.0


def _fresh_plan_cpu(config: TenantConfig, db_url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    configure_logging("warning")
    soap = SoapClock()
    store = Store.open(db_url, secret_key=None)
    queue.put(plan_cpu_seconds(context(config, store), soap))
    store.close()


def fresh_plan_cpu_seconds(config: TenantConfig, db_url: str) -> tuple[float, float]:
    """The same dry run in a new process, as a scheduled `rollbridge sync` would start."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_fresh_plan_cpu, args=(config, db_url, queue))
    child.start()
    seconds: tuple[float, float] = queue.get(timeout=600)
    child.join()
    return seconds


def move_one_session(sessions_csv: str) -> None:
    """Shift the last session by one hour (a change a planner makes every day)."""
    path = Path(sessions_csv)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        columns = list(rows[0])
    row = rows[-1]
    for name in ("start", "end"):
        moment = datetime.fromisoformat(row[name]) + timedelta(hours=1)
        row[name] = moment.strftime("%Y-%m-%dT%H:%M")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def move_last_seance(hp: HyperplanningSandbox, store: Store) -> None:
    """Shift the last séance synced by one hour, through the emulator (as a planner would)."""
    links = store.load_links("bench", "main").values()
    last = max(
        (link for link in links if link.kind == "course" and link.start_at is not None),
        key=lambda link: link.start_at,  # type: ignore[arg-type,return-value]
    )
    source_id = last.key.partition(":")[2]
    ref = parse_session_id(source_id, source_id.split(":", 1)[0])
    assert ref is not None and ref.week is not None and last.start_at is not None, last.key
    wall = last.start_at.astimezone(TZ).replace(tzinfo=None)
    hp.move_seance(ref.course_key, ref.week, wall + timedelta(hours=1))


def soap_read_seconds(config: TenantConfig) -> float:
    """Wall time of one source read alone (a fresh source: WSDL, catalogue, séances), every
    session built."""
    started = time.perf_counter()
    build_source(config).read(sync_window(config, NOW)).built()
    return time.perf_counter() - started


def bench_large(size: str, folder: Path, source: str = "files") -> dict[str, object]:
    extra: dict[str, object] = {}
    mover: Callable[[], None]
    with ExitStack() as stack:
        if source == "hyperplanning":
            hp = stack.enter_context(
                HyperplanningSandbox.start_process(
                    seed=42,
                    size=size,
                    year_start=YEAR_START,
                    startup_timeout=600,  # type: ignore[arg-type]
                )
            )
            table = hyperplanning_source(folder, hp)
            extra["hyperplanning_base"] = hp.base_info()
            soap: SoapClock | None = SoapClock()

            def mover() -> None:
                move_last_seance(hp, store)
        else:
            paths = generate(size, folder / "school")
            table = files_source(folder, paths)
            extra["sessions_generated"] = paths.sessions
            soap = None

            def mover() -> None:
                move_one_session(paths.sessions_csv)

        sandbox = stack.enter_context(EdusignSandbox.start_process())
        sandbox.add_school(KEY)
        sandbox.set_rate_limit(10_000_000, "delay")
        db_url = f"sqlite:///{folder / 'bench.db'}"
        store = stack.enter_context(Store.open(db_url, secret_key=None))
        config = config_for(table, sandbox.url, rate=5_000_000, concurrency=8)
        if source == "hyperplanning":
            extra["soap_read_seconds"] = round(soap_read_seconds(config), 2)
        ctx = context(config, store)
        started = time.perf_counter()
        report = sync_down(ctx)
        initial_seconds = time.perf_counter() - started
        initial_writes = sandbox.writes()
        objects = sum(sum(a.applied.values()) for a in report.accounts)
        sandbox.clear_log()
        cpu, soap_cpu = plan_cpu_seconds(ctx, soap)
        fresh_cpu, fresh_soap_cpu = fresh_plan_cpu_seconds(config, db_url)
        if soap is not None:
            extra["nochange_soap_cpu_s"] = round(soap_cpu, 3)
            extra["nochange_soap_cpu_s_fresh_process"] = round(fresh_soap_cpu, 3)
        nochange = sync_down(ctx)
        nochange_writes = sandbox.writes()
        mover()
        sandbox.clear_log()
        sync_down(ctx)
        one_change_writes = sandbox.writes()
        duplicates = len(sandbox.duplicate_api_ids(KEY))
    return {
        "size": size,
        "source": source,
        **extra,
        "initial_status": report.status,
        "initial_writes": initial_writes,
        "objects_synced": objects,
        "writes_per_object": round(initial_writes / objects, 4) if objects else None,
        "initial_seconds": round(initial_seconds, 1),
        "initial_writes_per_s": round(initial_writes / initial_seconds, 1),
        "rejected_records": len(report.rejected),
        "nochange_status": nochange.status,
        "nochange_writes": nochange_writes,
        "nochange_plan_cpu_s": round(cpu, 3),
        "nochange_plan_cpu_s_fresh_process": round(fresh_cpu, 3),
        "one_change_writes": one_change_writes,
        "duplicate_api_ids": duplicates,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def bench_rate(size: str, folder: Path) -> dict[str, object]:
    paths = generate(size, folder / "school-rate")
    limit = 6000
    with EdusignSandbox.start_process() as sandbox:
        sandbox.add_school(KEY)
        sandbox.set_rate_limit(limit, "reject")
        sandbox.set_latency(100)
        store = Store.open(f"sqlite:///{folder / 'rate.db'}", secret_key=None)
        config = config_for(files_source(folder, paths), sandbox.url, rate=limit, concurrency=16)
        started = time.perf_counter()
        report = sync_down(context(config, store))
        seconds = time.perf_counter() - started
        writes = sandbox.writes()
        stats = sandbox.rate_stats()
        store.close()
    achieved = writes / seconds
    return {
        "size": size,
        "status": report.status,
        "writes": writes,
        "seconds": round(seconds, 1),
        "achieved_writes_per_s": round(achieved, 2),
        "limit_per_s": limit / 60,
        "rate_ratio": round(achieved / (limit / 60), 3),
        "rate_limited_429": stats.get("rejected", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", choices=("files", "hyperplanning"), default="files")
    parser.add_argument("--large", default="large")
    parser.add_argument("--medium", default="medium")
    parser.add_argument("--skip-rate", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    configure_logging("warning")
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="rollbridge-bench-") as tmp:
        folder = Path(tmp)
        if not args.skip_large:
            result["large"] = bench_large(args.large, folder, args.source)
        if not args.skip_rate:
            result["rate"] = bench_rate(args.medium, folder)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
