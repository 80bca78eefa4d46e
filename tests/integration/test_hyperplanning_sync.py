"""`sync down` and `sync up` end to end: the HPSW emulator → rollbridge → the Edusign emulator,
both over real loopback HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rollbridge.bootstrap import build_source, client_factory
from rollbridge.config import TenantConfig, parse_config
from rollbridge.engine import NoHooks, RunContext, sync_down, sync_up
from rollbridge.errors import AuthError
from rollbridge.report import RunReport
from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.store import Store
from rollbridge.timeconv import parse_instant

KEY_A = "sk-PLANTED-hp-account-a"
KEY_B = "sk-PLANTED-hp-account-b"
WRONG_HOST = "http://hpsw-interne.invalid:8080"


@pytest.fixture(scope="module")
def hp_server() -> Iterator[HyperplanningSandbox]:
    with HyperplanningSandbox.start_in_thread(
        seed=7, size="small", year_start=date(2026, 9, 1), soap_address=WRONG_HOST
    ) as sandbox:
        yield sandbox


@pytest.fixture
def hp(hp_server: HyperplanningSandbox) -> HyperplanningSandbox:
    hp_server.reset()
    return hp_server


@dataclass
class HpHarness:
    """A Hyperplanning tenant wired to both emulators."""

    hp: HyperplanningSandbox
    edusign: EdusignSandbox
    store: Store
    tenant: str
    state_dir: Path
    now: datetime = datetime(2026, 10, 19, 4, 0, tzinfo=UTC)  # a Monday; Paris DST ends 25th
    year_end: str = "2026-10-30"  # short windows keep the Edusign writes few
    source: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)

    def config(self) -> TenantConfig:
        accounts = self.accounts or [{"name": "main", "api_key": KEY_A}]
        return parse_config(
            {
                "tenant": self.tenant,
                "school_year": {"start": "2026-09-01", "end": self.year_end},
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
            hooks=NoHooks(),
        )

    def down(self) -> RunReport:
        return sync_down(self.ctx())

    def up(self) -> RunReport:
        return sync_up(self.ctx())

    def state(self, key: str = KEY_A) -> dict[str, Any]:
        return self.edusign.dump(key)

    def link(self, key: str, account: str = "main") -> str:
        return self.store.load_links(self.tenant, account)[key].edusign_id

    def course(self, session_id: str) -> dict[str, Any]:
        cid = self.link(f"session:{session_id}")
        return next(c for c in self.state()["courses"] if c["ID"] == cid)


@pytest.fixture
def h(
    tmp_path: Path, hp: HyperplanningSandbox, edusign: EdusignSandbox, store: Store, tenant: str
) -> HpHarness:
    edusign.add_school(KEY_A)
    edusign.set_rate_limit(600_000)
    return HpHarness(hp, edusign, store, tenant, tmp_path / "state")


def courses_by_api_id(state: dict[str, Any]) -> Counter[str]:
    return Counter(c["API_ID"] for c in state["courses"])


def test_first_down_creates_everything_and_second_writes_nothing(h: HpHarness) -> None:
    report = h.down()
    assert report.status == "ok", (report.error, report.rejected[:5])
    state = h.state()
    assert state["students"] and state["professors"] and state["groups"] and state["courses"]
    assert max(courses_by_api_id(state).values()) == 1
    h.edusign.clear_log()
    again = h.down()
    assert again.status == "ok", again.error
    assert h.edusign.writes() == 0


def spring(h: HpHarness) -> HpHarness:
    """The fortnight around the spring DST change, where self-study courses (no instructor)
    have séances."""
    h.now, h.year_end = datetime(2027, 3, 22, 4, 0, tzinfo=UTC), "2027-04-02"
    return h


def students(course: dict[str, Any]) -> list[str]:
    return [e["studentId"] for e in course["STUDENTS"]]


def test_dst_seances_land_at_the_right_instants(h: HpHarness) -> None:
    quirks = h.hp.quirks()
    h.now, h.year_end = datetime(2027, 3, 22, 4, 0, tzinfo=UTC), "2027-04-02"
    spring = h.down()
    assert spring.status == "ok", spring.error
    h.now, h.year_end = datetime(2026, 10, 19, 4, 0, tzinfo=UTC), "2026-10-30"
    autumn = h.down()
    assert autumn.status == "ok", autumn.error
    starts = {c["START"] for c in h.state()["courses"]}
    seen = set()
    for found in quirks["dst_seances"]:
        day = found["start"][:10]
        if not ("2026-10-19" <= day <= "2026-10-30" or "2027-03-22" <= day <= "2027-04-02"):
            continue
        summer = day < "2026-10-25" or day >= "2027-03-28"
        assert f"{day}T{'06' if summer else '07'}:30:00.000Z" in starts  # 08:30 in Paris
        seen.add(summer)
    assert seen == {True, False}


def test_parents_skipped_no_duplicates_and_rejections_named(h: HpHarness) -> None:
    report = spring(h).down()
    assert report.status == "ok"
    state = h.state()
    assert max(courses_by_api_id(state).values()) == 1
    assert len(
        {(c["START"], c["NAME"], tuple(sorted(students(c)))) for c in state["courses"]}
    ) == len(state["courses"])
    without = set(h.hp.quirks()["courses_without_instructor"])
    assert without
    assert any("instructor" in p.reason for p in report.rejected)
    assert not any(
        f":session:{key}:" in link
        for key in without
        for link in h.store.load_links(h.tenant, "main")
    )


def test_fallback_instructor_room_code_and_fixed_room(h: HpHarness) -> None:
    h.options = {"fallback_instructor_email": "accueil@ecole.test", "room_label": "code"}
    assert spring(h).down().status == "ok"
    without = h.hp.quirks()["courses_without_instructor"]
    links = h.store.load_links(h.tenant, "main")
    assert any(f":session:{key}:" in link for key in without for link in links)
    rooms = {c.get("CLASSROOM") for c in h.state()["courses"]}
    h.options = {
        "fallback_instructor_email": "accueil@ecole.test",
        "fixed_room_name": "Salle NFC 1",
    }
    assert h.down().status == "ok"
    assert {c.get("CLASSROOM") for c in h.state()["courses"]} == {"Salle NFC 1"}
    assert rooms and "Salle NFC 1" not in rooms


def test_learner_filter_by_family_routes_to_two_accounts_with_tags(h: HpHarness) -> None:
    h.edusign.add_school(KEY_B)
    site = "Site"
    h.source = {"student_families": [site], "tags_from_families": [site]}
    probe = build_source(h.config())
    from rollbridge.engine import sync_window

    snapshot = probe.read(sync_window(h.config(), h.now))
    sections = sorted({v for p in snapshot.people for k, v in p.attrs if k == f"family:{site}"})
    assert len(sections) >= 2
    h.accounts = [
        {
            "name": "main",
            "api_key": KEY_A,
            "learners": {"attrs": {f"family:{site}": [sections[0]]}},
        },
        {
            "name": "other",
            "api_key": KEY_B,
            "learners": {"attrs": {f"family:{site}": [sections[1]]}},
        },
    ]
    report = h.down()
    assert report.status == "ok", report.error
    a, b = h.state(KEY_A)["students"], h.state(KEY_B)["students"]
    assert a and b
    assert any(sections[0] in (s.get("TAGS") or []) for s in a)


def test_course_family_exclusion(h: HpHarness) -> None:
    h.source = {"course_families": ["Modalité"]}
    h.accounts = [
        {
            "name": "main",
            "api_key": KEY_A,
            "sessions": {"attrs": {"course_family:Modalité:not:Autonomie": ["Autonomie"]}},
        }
    ]
    h.options = {"fallback_instructor_email": "accueil@ecole.test"}
    assert spring(h).down().status == "ok"
    study = h.hp.quirks()["courses_without_instructor"]
    links = h.store.load_links(h.tenant, "main")
    assert links and not any(f":session:{key}:" in link for key in study for link in links)
    h.accounts = []
    assert h.down().status == "ok"
    links = h.store.load_links(h.tenant, "main")
    assert any(f":session:{key}:" in link for key in study for link in links)


def test_sync_up_writes_absences_and_lateness_once(h: HpHarness) -> None:
    assert h.down().status == "ok"
    courses = sorted(
        (c for c in h.state()["courses"] if len(students(c)) >= 3), key=lambda c: c["START"]
    )
    course = courses[0]
    cid, (s1, s2, s3) = course["ID"], students(course)[:3]
    h.edusign.mark_absent(KEY_A, cid, s1)
    h.edusign.mark_absent(KEY_A, cid, s2)
    h.edusign.justify(KEY_A, cid, s2)
    h.edusign.mark_late(KEY_A, cid, s3, minutes=10)
    h.now = parse_instant(course["END"]) + timedelta(minutes=30)
    for other in h.state()["courses"]:  # everyone else signed: only our three marks go up
        if parse_instant(other["END"]) <= h.now:
            for student in students(other):
                if other["ID"] != cid or student not in (s1, s2, s3):
                    h.edusign.sign(KEY_A, other["ID"], student)
    h.hp.clear_log()
    report = h.up()
    assert report.status == "ok", (report.error, report.accounts[0].not_written)
    ops = Counter(w["op"] for w in h.hp.writes())
    assert ops == Counter({"AjouterAbsenceEtudiant": 2, "CreerRetardEtudiant": 1})
    flags = sorted(a["justified"] for a in h.hp.absences())
    assert flags == [False, True]
    assert all(not w.get("zone_sent") for w in h.hp.writes())
    before = len(h.hp.writes())
    again = h.up()
    assert again.status == "ok"
    assert len(h.hp.writes()) == before


def test_new_base_mid_year_stops_without_deleting(h: HpHarness) -> None:
    assert h.down().status == "ok"
    count = len(h.state()["courses"])
    h.hp.new_base()
    h.edusign.clear_log()
    report = h.down()
    assert report.status == "failed"
    assert "changed mid-year" in (report.error or "")
    assert h.edusign.writes() == 0 and len(h.state()["courses"]) == count


def test_wrong_password_is_a_clear_error_without_the_secret(h: HpHarness) -> None:
    h.source = {"password": "not-the-password-xyz"}
    source = build_source(h.config())
    checks = source.check()
    assert checks[0].status == "error" and "credentials" in checks[0].detail
    report = h.down()
    assert report.status == "failed"
    assert "credentials" in (report.error or "")
    assert "not-the-password-xyz" not in (report.error or "")
    with pytest.raises(AuthError):
        source.read(
            __import__("rollbridge.model", fromlist=["Window"]).Window(h.now.date(), h.now.date())
        )


def test_check_reports_version_base_and_write_calls(h: HpHarness) -> None:
    results = build_source(h.config()).check()
    assert [r.status for r in results] == ["ok", "ok", "ok"], results


def test_tutors_on_off_and_exemptions_left_out(h: HpHarness) -> None:
    from rollbridge.engine import sync_window

    h.options = {"tutors": True}
    snapshot = build_source(h.config()).read(sync_window(h.config(), h.now))
    assert any(p.role == "tutor" for p in snapshot.people) and snapshot.tutor_links
    assert any(s.exempt_learner_ids for s in snapshot.sessions)
    h.options = {}
    off = build_source(h.config()).read(sync_window(h.config(), h.now))
    assert not any(p.role == "tutor" for p in off.people)
    assert h.down().status == "ok"
    exempt = next(s for s in off.sessions if s.exempt_learner_ids)
    course = h.course(exempt.source_id)
    learner = h.link(f"learner:{exempt.exempt_learner_ids[0]}")
    assert learner not in students(course)
