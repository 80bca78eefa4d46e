"""A Hyperplanning tenant wired to both emulators: the HPSW emulator → rollbridge → the
Edusign emulator, over real loopback HTTP. Tests read as scenarios: change the planning or
the attendance through the emulators' controls, `down()` or `up()`, look at both sides."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from rollbridge.bootstrap import build_source, client_factory
from rollbridge.config import HyperplanningSource as HpSettings
from rollbridge.config import TenantConfig, parse_config
from rollbridge.engine import ApplyHooks, NoHooks, RunContext, sync_down, sync_up
from rollbridge.engine.down import sync_window
from rollbridge.model import Snapshot
from rollbridge.report import RunReport
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.sources.hyperplanning.client import HpswClient
from rollbridge.sources.hyperplanning.ids import parse_session_id
from rollbridge.sources.hyperplanning.source import HyperplanningSource, default_client
from rollbridge.store import Store
from rollbridge.timeconv import parse_instant, zone

KEY_A = "sk-PLANTED-hp-account-a"
KEY_B = "sk-PLANTED-hp-account-b"
WRONG_HOST = "http://hpsw-interne.invalid:8080"


@dataclass
class HpHarness:
    """A Hyperplanning tenant wired to both emulators."""

    hp: HyperplanningSandbox
    edusign: EdusignSandbox
    store: Store
    tenant: str
    state_dir: Path
    now: datetime = datetime(2026, 10, 19, 4, 0, tzinfo=UTC)  # a Monday; Paris DST ends 25th
    year: tuple[str, str] = ("2026-09-01", "2027-07-31")
    year_end: str = "2026-10-30"  # short windows keep the Edusign writes few
    source: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    hooks: ApplyHooks | None = None

    def config(self) -> TenantConfig:
        accounts = self.accounts or [{"name": "main", "api_key": KEY_A}]
        return parse_config(
            {
                "tenant": self.tenant,
                "school_year": {"start": self.year[0], "end": self.year_end},
                "source": {
                    "kind": "hyperplanning",
                    "url": self.hp.url,
                    "allow_insecure_http": True,
                    "username": self.hp.username,
                    "password": self.hp.password,
                    "state_dir": str(self.state_dir),
                    **self.source,
                },
                "options": self.options,
                "guard": self.guard,
                "sync": {"days_back": 0},
                "accounts": [
                    {
                        "base_url": self.edusign.url,
                        "allow_insecure_http": True,
                        "rate_per_minute": 60000,
                        "timeout_s": 5.0,
                        **account,
                    }
                    for account in accounts
                ],
            },
            source="hp-test.toml",
        )

    def ctx(self) -> RunContext:
        config = self.config()
        return RunContext(
            config=config,
            source=build_source(config),
            store=self.store,
            client_for=client_factory(config),
            clock=lambda: self.now,
            hooks=self.hooks or NoHooks(),
        )

    def down(self) -> RunReport:
        return sync_down(self.ctx())

    def up(self) -> RunReport:
        return sync_up(self.ctx())

    def read(self) -> Snapshot:
        """What the source reads now, over the run's window, every session built."""
        config = self.config()
        return build_source(config).read(sync_window(config, self.now)).built()

    def state(self, key: str = KEY_A) -> dict[str, Any]:
        return self.edusign.dump(key)

    def link(self, key: str, account: str = "main") -> str:
        return self.store.load_links(self.tenant, account)[key].edusign_id

    def course(self, session_id: str) -> dict[str, Any]:
        cid = self.link(f"session:{session_id}")
        return next(c for c in self.state()["courses"] if c["ID"] == cid)

    def ended_course(self, learners: int = 3) -> dict[str, Any]:
        """After a down run: the first Edusign course with at least `learners` learners, the
        clock set half an hour after its end, and every other ended course fully signed (so
        only what the test marks on this one goes up)."""
        course = min(
            (c for c in self.state()["courses"] if len(students(c)) >= learners),
            key=lambda c: c["START"],
        )
        self.now = parse_instant(course["END"]) + timedelta(minutes=30)
        for other in self.state()["courses"]:
            if other["ID"] != course["ID"] and parse_instant(other["END"]) <= self.now:
                for student in students(other):
                    self.edusign.sign(KEY_A, other["ID"], student)
        return course


def students(course: dict[str, Any]) -> list[str]:
    """The Edusign learner ids on a course."""
    return [e["studentId"] for e in course["STUDENTS"]]


def courses_by_api_id(state: dict[str, Any]) -> Counter[str]:
    return Counter(c["API_ID"] for c in state["courses"])


def spring(h: HpHarness) -> HpHarness:
    """The fortnight around the spring DST change, where self-study courses (no instructor)
    have séances."""
    h.now, h.year_end = datetime(2027, 3, 22, 4, 0, tzinfo=UTC), "2027-04-02"
    return h


def future_seance(h: HpHarness, snapshot: Snapshot) -> tuple[int, int, datetime]:
    """(course, HP week, wall-clock start) of the first future séance read."""
    base = (snapshot.key_space or "").rstrip(":")
    for session in sorted(snapshot.sessions, key=lambda s: s.start_at):
        ref = parse_session_id(session.source_id, base)
        if ref is not None and ref.week is not None and session.start_at > h.now:
            wall = session.start_at.astimezone(zone("Europe/Paris")).replace(tzinfo=None)
            return ref.course_key, ref.week, wall
    raise AssertionError("no future séance")


def hp_source(
    h: HpHarness,
    *,
    full: bool = False,
    wrap: Callable[[HpswClient], Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> HyperplanningSource:
    """The tenant's Hyperplanning source, its client wrapped by `wrap` (an edited or
    counting HPSW), its clock `clock` (default: the harness's now)."""
    config = h.config()
    settings = config.source
    assert isinstance(settings, HpSettings)

    def factory(s: HpSettings) -> HpswClient:
        client = default_client(s)
        return client if wrap is None else cast(HpswClient, wrap(client))

    return HyperplanningSource(
        settings,
        zone(config.timezone),
        school_year=config.school_year,
        tutors=config.options.tutors,
        client_factory=factory,
        full_read=full,
        clock=clock or (lambda: h.now),
    )
