"""One tenant wired to the Edusign emulator, a tiny school on disk and a store.

Tests read as scenarios: change the school, `down()`, look at the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from rollbridge.bootstrap import client_factory
from rollbridge.config import TenantConfig, parse_config
from rollbridge.engine import ApplyHooks, NoHooks, RunContext, sync_down, sync_up
from rollbridge.report import RunReport
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sources.files import FilesSource
from rollbridge.store import Store
from rollbridge.timeconv import zone

from .tiny_school import TinySchool

API_KEY = "sk-PLANTED-edusign-4242"


@dataclass
class Harness:
    """A tenant under test."""

    school: TinySchool
    sandbox: EdusignSandbox
    store: Store
    tenant: str
    now: datetime = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    options: dict[str, Any] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)
    account: dict[str, Any] = field(default_factory=dict)
    sync: dict[str, Any] = field(default_factory=dict)
    hooks: ApplyHooks | None = None

    def config(self) -> TenantConfig:
        return parse_config(
            {
                "tenant": self.tenant,
                "school_year": {"start": "2026-09-01", "end": "2027-07-31"},
                "source": {
                    "kind": "files",
                    "oneroster": str(self.school.oneroster),
                    "sessions": str(self.school.sessions_csv),
                    "attendance_out": str(self.school.folder / "attendance.csv"),
                },
                "options": {"tutors": True, **self.options},
                "guard": self.guard,
                "sync": self.sync,
                "accounts": [
                    {
                        "name": "main",
                        "api_key": API_KEY,
                        "base_url": self.sandbox.url,
                        "allow_insecure_http": True,
                        "rate_per_minute": 60000,
                        "timeout_s": 2.0,
                        **self.account,
                    }
                ],
            },
            source="test.toml",
        )

    def ctx(self) -> RunContext:
        config = self.config()
        return RunContext(
            config=config,
            source=FilesSource(config.source, zone(config.timezone)),
            store=self.store,
            client_for=client_factory(config),
            clock=lambda: self.now,
            hooks=self.hooks or NoHooks(),
        )

    def down(self, *, dry_run: bool = False) -> RunReport:
        self.school.write()
        return sync_down(self.ctx(), dry_run=dry_run)

    def up(self) -> RunReport:
        return sync_up(self.ctx())

    def state(self) -> dict[str, Any]:
        return self.sandbox.dump(API_KEY)

    def courses(self) -> list[dict[str, Any]]:
        return list(self.state()["courses"])

    def course(self, session_id: str) -> dict[str, Any]:
        link = self.store.load_links(self.tenant, "main")[f"session:{session_id}"]
        return next(c for c in self.courses() if c["ID"] == link.edusign_id)

    def edusign_id(self, key: str) -> str:
        return self.store.load_links(self.tenant, "main")[key].edusign_id


class BuildCounting(Protocol):
    """A source wrapper that records the batches it built."""

    built: list[str]


@dataclass
class BatchHarness(Harness):
    """A tenant whose source counts the session batches it builds (`built()`)."""

    source: Any = None

    def built(self) -> list[str]:
        """The batches built since the last call."""
        counting: BuildCounting = self.source
        found = list(counting.built)
        counting.built.clear()
        return found

    def run(self) -> RunReport:
        """One down run, which must succeed, with the emulator's log cleared first."""
        self.sandbox.clear_log()
        self.school.write()
        report = sync_down(self.ctx())
        assert report.status == "ok", (report.error, report.accounts[0].failures)
        return report
