"""`HyperplanningSandbox`: the HPSW emulator on a free loopback port, in a thread or a process.

Every test control goes over HTTP to `/_sandbox/...`, so a test reads the same whether the
server shares the test's process (fast to start) or runs in its own (benchmarks: client and
server then each get a core instead of sharing one GIL).

By hand:

    python -m rollbridge.sandbox.hyperplanning.server --port 8766 --size medium \\
        --username 'ECOLE\\rollbridge' --password secret --soap-address http://hpsw.intra:8080
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from rollbridge.sandbox.hyperplanning.app import HyperplanningApp
from rollbridge.sandbox.runner import (
    ProcessRunner,
    Runner,
    SandboxHandle,
    ThreadRunner,
    bind,
    server,
    url_of,
)
from rollbridge.sandbox.school import SIZES, Size, SyntheticSchool, generate_school
from rollbridge.timeconv import zone

READY_PREFIX = "hyperplanning-sandbox listening on "
MODULE = "rollbridge.sandbox.hyperplanning.server"
DEFAULT_USERNAME = "ECOLE\\rollbridge"  # hosted servers hand out ORGANISATION\login (§3)
DEFAULT_PASSWORD = "hpsw-secret"  # noqa: S105 - a loopback emulator's test credential
DEFAULT_YEAR_START = date(2026, 9, 1)


class HyperplanningSandbox(SandboxHandle):
    """A running HPSW emulator and its test controls (each one HTTP call). `log()` entries
    are `{kind, where, operation, status, fault, ms}` (WSDL and SOAP requests); `counts()`
    is SOAP calls per operation, faults included."""

    def __init__(
        self, url: str, runner: Runner, *, username: str, password: str, prefix: str = "/hpsw"
    ) -> None:
        super().__init__(url, runner, timeout_s=60.0)
        self.username = username
        self.password = password
        self.prefix = "/" + prefix.strip("/")

    @property
    def wsdl_url(self) -> str:
        """The full WSDL (every interface)."""
        return f"{self.url}{self.prefix}/wsdl"

    def interface_wsdl_url(self, interface: str) -> str:
        """The partial WSDL of one interface, e.g. `IHpSvcWCours`."""
        return f"{self.wsdl_url}/{interface}"

    def soap_url(self, interface: str) -> str:
        """This server's SOAP endpoint of one interface (what a rewritten port points to)."""
        return f"{self.url}{self.prefix}/soap/{interface}"

    @property
    def auth(self) -> tuple[str, str]:
        """(username, password) for HTTP Basic."""
        return self.username, self.password

    @classmethod
    def start_in_thread(
        cls,
        *,
        seed: int = 7,
        size: Size = "small",
        year_start: date = DEFAULT_YEAR_START,
        tz: str = "Europe/Paris",
        school: SyntheticSchool | None = None,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        first_day: date | None = None,
        soap_address: str | None = None,
        prefix: str = "/hpsw",
        warm: bool = True,
        port: int = 0,
        startup_timeout: float = 30.0,
    ) -> HyperplanningSandbox:
        """Serve on 127.0.0.1 from a thread of this process; `school` overrides the
        (seed, size, year_start, tz) generation; `warm` builds every séance answer first
        (about 1.5 s for the large school, then ~2 ms per 200-course call)."""
        if school is None:
            school = generate_school(seed, size, year_start=year_start, tz=zone(tz))
        app = HyperplanningApp(
            school,
            username=username,
            password=password,
            first_day=first_day,
            soap_address=soap_address,
            prefix=prefix,
            warm=warm,
        )
        sock = bind("127.0.0.1", port)
        runner = ThreadRunner(
            app, sock, startup_timeout, name="hyperplanning-sandbox", lifespan="off"
        )
        return cls(url_of(sock), runner, username=username, password=password, prefix=prefix)

    @classmethod
    def start_process(
        cls,
        *,
        seed: int = 7,
        size: Size = "small",
        year_start: date = DEFAULT_YEAR_START,
        tz: str = "Europe/Paris",
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        first_day: date | None = None,
        soap_address: str | None = None,
        prefix: str = "/hpsw",
        port: int = 0,
        warm: bool = True,
        startup_timeout: float = 60.0,
    ) -> HyperplanningSandbox:
        """Serve on 127.0.0.1 from a child process; `warm` builds every séance answer first."""
        argv = [
            "--host", "127.0.0.1", "--port", str(port), "--seed", str(seed), "--size", size,
            "--year-start", year_start.isoformat(), "--tz", tz, "--username", username,
            "--password", password, "--prefix", prefix,
        ]  # fmt: skip
        if first_day is not None:
            argv += ["--first-day", first_day.isoformat()]
        if soap_address is not None:
            argv += ["--soap-address", soap_address]
        if not warm:
            argv.append("--cold")
        runner = ProcessRunner(MODULE, argv, startup_timeout, ready_prefix=READY_PREFIX)
        return cls(runner.url, runner, username=username, password=password, prefix=prefix)

    # ----- switches ---------------------------------------------------------------------

    def reset(self) -> None:
        """Back to just started: the unedited planning, base 1, no marks, no log, no
        injected failure; module on, no latency, the configured soap:address."""
        self._control("POST", "reset")

    def set_latency(self, ms: float) -> None:
        """Add `ms` milliseconds before every SOAP answer (slow big bases)."""
        self._control("PUT", "latency", {"ms": ms})

    def set_learner_module(self, enabled: bool) -> None:
        """Switch learner management on or off; off, its calls fault (§9)."""
        self._control("PUT", "learner-module", {"enabled": enabled})

    def set_soap_address(self, address: str | None) -> None:
        """Make the WSDL's ports name `address` (e.g. `http://hpsw.intra:8080`), or this
        server again with None."""
        self._control("PUT", "soap-address", {"address": address})

    def set_read_only(self, enabled: bool) -> None:
        """A web service user without write rights: every write call faults."""
        self._control("PUT", "read-only", {"enabled": enabled})

    def hide_operations(self, operations: Sequence[str]) -> None:
        """Serve an HPSW version without `operations`: left out of the WSDL, a Fault if
        called anyway. An empty list brings them all back."""
        self._control("PUT", "hidden-operations", {"operations": list(operations)})

    def new_base(self, first_day: date | None = None, shift_weeks: int = 0) -> dict[str, Any]:
        """Open a new base: same people (names, e-mails) and timetable, planning edits
        included, under new keys; no marks. `shift_weeks` moves every séance and the school
        year that many weeks (52: next year's base). `DatePremierJourBase` defaults to a week
        before the current one, shifted likewise. Returns `base_info()`."""
        body = {
            "first_day": None if first_day is None else first_day.isoformat(),
            "shift_weeks": shift_weeks,
        }
        info: dict[str, Any] = self._control("POST", "new-base", body)
        return info

    def base_info(self) -> dict[str, Any]:
        """Base number, first day, school name, switches and record counts."""
        info: dict[str, Any] = self._control("GET", "base")
        return info

    # ----- planning edits (current base, until reset; other records keep their keys) -----

    def move_seance(self, course: int, week: int, start: datetime) -> None:
        """Move the séance of `course` in HP `week` to start at `start` (naive local wall
        clock; duration, rooms and instructors kept). Into another week is allowed (the
        séance's `Semaine` follows). A child's copy in its parent course moves too.
        SandboxError if the course has no séance that week or is a parent."""
        body = {"course": course, "week": week, "start": start.isoformat()}
        self._control("POST", "move-seance", body)

    def remove_courses(self, courses: Sequence[int]) -> None:
        """Delete courses as Hyperplanning would: no longer listed by any call, and their
        keys fault like unknown ones (never reused). All or none (SandboxError on a bad key)."""
        self._control("POST", "remove-course", {"courses": list(courses)})

    def rename_learner(self, learner: int, last_name: str, email: str | None = None) -> None:
        """Give a learner a new last name, and a new e-mail when `email` is not None."""
        body = {"learner": learner, "last_name": last_name, "email": email}
        self._control("POST", "rename-learner", body)

    # ----- injected failures (until clear_faults or reset) --------------------------------

    def fail(
        self,
        operation: str,
        times: int = 1,
        *,
        status: int | None = 503,
        fault: str | None = None,
    ) -> None:
        """Make the next `times` calls of a SOAP operation (`"*"`: any) fail, after the
        credentials check: with `fault`, a SOAP Fault (HTTP 500) carrying that message; else
        HTTP `status` with a plain body, no envelope (a proxy or server hiccup). Replaces
        what was set for that operation; the operation's own failures come before `*`'s.
        Failed calls are logged and counted like others."""
        body: dict[str, Any] = {"operation": operation, "times": times}
        if fault is not None:
            body["fault"] = fault
        else:
            body["status"] = status
        self._control("PUT", "faults", body)

    def clear_faults(self) -> None:
        """Take back every failure still waiting."""
        self._control("DELETE", "faults")

    # ----- marks and probes -------------------------------------------------------------

    def absences(self) -> list[dict[str, Any]]:
        """The absences held: `{key, learner, start, end, justified, motif, origin}`."""
        spans: list[dict[str, Any]] = self._control("GET", "absences")
        return spans

    def lateness(self) -> list[dict[str, Any]]:
        """The lateness records held, shaped like `absences()`."""
        spans: list[dict[str, Any]] = self._control("GET", "lateness")
        return spans

    def writes(self) -> list[dict[str, Any]]:
        """Every write call, in order: `{op, learner, start, end, zone_sent, …}`."""
        writes: list[dict[str, Any]] = self._control("GET", "writes")
        return writes

    def roll_calls(self) -> list[dict[str, Any]]:
        """The (course, week) séances marked as roll call done."""
        done: list[dict[str, Any]] = self._control("GET", "roll-calls")
        return done

    def add_staff_absence(
        self,
        learner: int,
        start: datetime,
        end: datetime,
        *,
        justified: bool = False,
        motif: str = "",
    ) -> int:
        """An absence entered by school staff (naive local times); returns its key."""
        body = {
            "learner": learner,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "justified": justified,
            "motif": motif,
        }
        return int(self._control("POST", "absences", body)["key"])

    def quirks(self) -> dict[str, Any]:
        """The planted traps, by key in the current base (see `probes.quirks`)."""
        found: dict[str, Any] = self._control("GET", "quirks")
        return found

    def keys(self, kind: str, ids: Sequence[str]) -> dict[str, Any]:
        """Keys behind generator ids; kind is learner, instructor, subject, group or session."""
        found: dict[str, Any] = self._control("POST", "keys", {"kind": kind, "ids": list(ids)})[
            "keys"
        ]
        return found


def main(argv: Sequence[str] | None = None) -> None:
    """Run the emulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m rollbridge.sandbox.hyperplanning.server",
        description="Loopback emulator of HYPERPLANNING Service web (SOAP), with test controls.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--year-start", type=date.fromisoformat, default=DEFAULT_YEAR_START)
    parser.add_argument("--tz", default="Europe/Paris")
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--first-day", type=date.fromisoformat, default=None)
    parser.add_argument("--soap-address", default=None, help="host the WSDL's ports name")
    parser.add_argument("--prefix", default="/hpsw")
    parser.add_argument("--cold", action="store_true", help="build séance answers lazily")
    args = parser.parse_args(argv)
    school = generate_school(args.seed, args.size, year_start=args.year_start, tz=zone(args.tz))
    app = HyperplanningApp(
        school,
        username=args.username,
        password=args.password,
        first_day=args.first_day,
        soap_address=args.soap_address,
        prefix=args.prefix,
        warm=not args.cold,
    )
    sock = bind(args.host, args.port)
    print(f"{READY_PREFIX}{url_of(sock)}", flush=True)  # start_process waits for this line
    server(app, lifespan="off").run(sockets=[sock])


if __name__ == "__main__":
    main()
