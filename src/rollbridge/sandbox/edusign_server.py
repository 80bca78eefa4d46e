"""`EdusignSandbox`: the Edusign emulator on a free loopback port, in a thread or a process.

Every test control goes over HTTP to `/_sandbox/...`, so a test reads the same whether the
server shares the test's process (fast to start) or runs in its own (benchmarks: client
and server then each get a core instead of sharing one GIL).

By hand, for the demo:

    python -m rollbridge.sandbox.edusign_server --port 8765 --api-key KEY1 --api-key KEY2
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rollbridge.sandbox.edusign import EdusignApp, FaultKind, RateMode
from rollbridge.sandbox.runner import (
    ProcessRunner,
    SandboxError,
    SandboxHandle,
    ThreadRunner,
    bind,
    server,
    url_of,
)
from rollbridge.timeconv import iso_z

__all__ = ["EdusignSandbox", "SandboxError", "main"]

READY_PREFIX = "edusign-sandbox listening on "
MODULE = "rollbridge.sandbox.edusign_server"


class EdusignSandbox(SandboxHandle):
    """A running Edusign emulator and its test controls (each one HTTP call). `log()`
    entries are `{method, template, path, status}`; `counts()` is per method and route
    template, e.g. `{"POST /v1/course": 3}`."""

    @classmethod
    def start_in_thread(
        cls,
        *,
        api_keys: Iterable[str] = (),
        seed: int | None = None,
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> EdusignSandbox:
        """Serve on 127.0.0.1 from a thread of this process; one school per key."""
        sock = bind("127.0.0.1", port)
        app = EdusignApp(api_keys=api_keys, seed=seed)
        return cls(url_of(sock), ThreadRunner(app, sock, startup_timeout, name="edusign-sandbox"))

    @classmethod
    def start_process(
        cls,
        *,
        api_keys: Iterable[str] = (),
        seed: int | None = None,
        port: int = 0,
        startup_timeout: float = 20.0,
    ) -> EdusignSandbox:
        """Serve on 127.0.0.1 from a child process; one school per key."""
        argv = ["--host", "127.0.0.1", "--port", str(port)]
        for key in api_keys:
            argv += ["--api-key", key]
        if seed is not None:
            argv += ["--seed", str(seed)]
        runner = ProcessRunner(MODULE, argv, startup_timeout, ready_prefix=READY_PREFIX)
        return cls(runner.url, runner)

    # ----- schools, log, faults, limits -------------------------------------------------

    def add_school(
        self, api_key: str, scopes: Iterable[str] | None = None, seed: int | None = None
    ) -> str:
        """Create (or empty) the school behind `api_key`; scopes are route families
        (courses, students, professors, groups, externals, absences, classrooms).
        Returns the school's ID."""
        body = {"api_key": api_key, "scopes": None if scopes is None else list(scopes)}
        result = self._control("POST", "schools", {**body, "seed": seed})
        return str(result["school_id"])

    def reset(self) -> None:
        """Back to just started: starting keys only (empty), no log, faults or limits."""
        self._control("POST", "reset")

    def writes(self) -> int:
        """How many POST, PATCH, PUT and DELETE requests reached /v1."""
        return int(self._control("GET", "counts")["writes"])

    def fault(
        self,
        kind: FaultKind,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        seconds: float | None = None,
        api_key: str | None = None,
    ) -> None:
        """Inject a fault for the next `times` requests (None: until cleared) matching the
        optional method, path prefix and key. Kinds: `status` (5xx text, not executed),
        `timeout` (sleeps `seconds`, then 504, not executed), `malformed` (200 non-JSON,
        not executed), `apply_then_stall` (executed, reply held `seconds`: the lost reply),
        `unauthorized` (401: key revoked), `billing` (402)."""
        body: dict[str, Any] = {"kind": kind, "times": times, "method": method, "path": path}
        if status is not None:
            body["status"] = status
        if seconds is not None:
            body["seconds"] = seconds
        self._control("POST", "faults", {**body, "api_key": api_key})

    def pending_faults(self) -> list[dict[str, Any]]:
        """The faults not yet used up."""
        faults: list[dict[str, Any]] = self._control("GET", "faults")
        return faults

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self._control("DELETE", "faults")

    def set_latency(self, ms: float) -> None:
        """Add `ms` milliseconds to every /v1 request."""
        self._control("PUT", "latency", {"ms": ms})

    def set_rate_limit(self, per_minute: int, mode: RateMode = "delay") -> None:
        """Requests per key per sliding minute; beyond it, `delay` (+100 ms per excess
        request, then executed: Edusign's documented behaviour) or `reject` (429 +
        Retry-After, not executed). Resets the counters."""
        self._control("PUT", "rate-limit", {"per_minute": per_minute, "mode": mode})

    def rate_stats(self) -> dict[str, Any]:
        """Rate-limit settings and counters: requests, rejected, delayed, delay_total_s."""
        stats: dict[str, Any] = self._control("GET", "rate-stats")
        return stats

    def set_page_size(self, kind: str, size: int) -> None:
        """Page size of a list (course, student default limit, professor, group, external,
        justified_absence)."""
        self._control("PUT", "page-sizes", {kind: size})

    def set_now(self, moment: datetime | None) -> None:
        """Freeze the emulator's clock at the aware `moment`, or unfreeze with None."""
        self._control("PUT", "clock", {"now": None if moment is None else iso_z(moment)})

    # ----- per-school views and simulated attendance ------------------------------------

    def dump(self, api_key: str) -> dict[str, Any]:
        """Everything the school holds: students, professors, groups, externals, courses,
        justified_absences, absence_reasons, classrooms, credential_emails."""
        state: dict[str, Any] = self._control("POST", "dump", {"api_key": api_key})
        return state

    def duplicate_api_ids(self, api_key: str) -> list[dict[str, Any]]:
        """`[{kind, api_id, ids}]` for every API_ID held by several objects of a kind."""
        duplicates: list[dict[str, Any]] = self._control("POST", "duplicates", {"api_key": api_key})
        return duplicates

    def _attendance(self, action: str, api_key: str, course_id: str, **extra: Any) -> Any:
        return self._control("POST", action, {"api_key": api_key, "course_id": course_id, **extra})

    def sign(
        self, api_key: str, course_id: str, student_id: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """The learner signs (state true, timestamp, signature URL); returns the entry."""
        when = None if at is None else iso_z(at)
        entry: dict[str, Any] = self._attendance(
            "sign", api_key, course_id, student_id=student_id, at=when
        )
        return entry

    def sign_professor(
        self, api_key: str, course_id: str, professor_id: str | None = None
    ) -> dict[str, Any]:
        """An instructor signs (the course's first by default): `{slot, signature}`."""
        signed: dict[str, Any] = self._attendance(
            "sign-professor", api_key, course_id, professor_id=professor_id
        )
        return signed

    def mark_absent(
        self, api_key: str, course_id: str, student_id: str, comment: str = ""
    ) -> dict[str, Any]:
        """The learner is absent (state false, signature dropped, comment)."""
        entry: dict[str, Any] = self._attendance(
            "absent", api_key, course_id, student_id=student_id, comment=comment
        )
        return entry

    def mark_late(
        self, api_key: str, course_id: str, student_id: str, minutes: int
    ) -> dict[str, Any]:
        """The learner came `minutes` late (delay, state true, signed)."""
        entry: dict[str, Any] = self._attendance(
            "late", api_key, course_id, student_id=student_id, minutes=minutes
        )
        return entry

    def mark_left_early(
        self, api_key: str, course_id: str, student_id: str, at: datetime
    ) -> dict[str, Any]:
        """The learner left at `at` (earlyDeparture, state true, signed)."""
        entry: dict[str, Any] = self._attendance(
            "left-early", api_key, course_id, student_id=student_id, at=iso_z(at)
        )
        return entry

    def justify(
        self,
        api_key: str,
        course_id: str,
        student_id: str,
        reason: str | None = None,
        comment: str = "",
    ) -> str:
        """A justified absence (reason ID or NAME, first reason by default) covering the
        learner's entry; returns the absence ID, now the entry's `absenceId`."""
        absence = self._attendance(
            "justify", api_key, course_id, student_id=student_id, reason=reason, comment=comment
        )
        return str(absence["ID"])

    def seed_student(self, api_key: str, fields: Mapping[str, Any]) -> str:
        """Create a learner directly (not logged, no credentials e-mail); returns its ID.
        Pass `HIDDEN: 1` for one already archived."""
        created = self._control("POST", "seed-student", {"api_key": api_key, "fields": fields})
        return str(created["ID"])

    def seed_professor(self, api_key: str, fields: Mapping[str, Any]) -> str:
        """Create an instructor directly (not logged, no credentials e-mail); returns its ID."""
        created = self._control("POST", "seed-professor", {"api_key": api_key, "fields": fields})
        return str(created["ID"])


def main(argv: Sequence[str] | None = None) -> None:
    """Run the emulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m rollbridge.sandbox.edusign_server",
        description="Loopback emulator of Edusign's v1 API, with /_sandbox test controls.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--api-key", action="append", default=[], help="create an empty school for this key"
    )
    parser.add_argument("--seed", type=int, default=None, help="make ids reproducible")
    parser.add_argument("--rate-limit", type=int, default=480, help="requests per key per minute")
    parser.add_argument("--rate-mode", choices=("delay", "reject"), default="delay")
    args = parser.parse_args(argv)
    app = EdusignApp(
        api_keys=args.api_key, seed=args.seed, per_minute=args.rate_limit, rate_mode=args.rate_mode
    )
    sock = bind(args.host, args.port)
    print(f"{READY_PREFIX}{url_of(sock)}", flush=True)  # start_process waits for this line
    server(app).run(sockets=[sock])


if __name__ == "__main__":
    main()
