"""The store against real databases: SQLite (a temporary file) always, PostgreSQL too when
`ROLLBRIDGE_TEST_DATABASE_URL` is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/
rollbridge_test). Each PostgreSQL test runs in its own schema, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from rollbridge.errors import ConfigError, StoreError
from rollbridge.identity import Link
from rollbridge.store import JournalEntry, StepOutcome, Store, StoredMark
from rollbridge.store.batches import SettledBatch
from rollbridge.store.crypto import (
    decrypt,
    encrypt,
    generate_key,
    key_from_env,
    load_or_create_key,
)
from rollbridge.store.repository import alembic_config
from rollbridge.store.tables import metadata

PG_URL = os.environ.get("ROLLBRIDGE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
KEY = generate_key()
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # the night Paris moves to summer time


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'nested' / 'rollbridge.db'}"
        return
    yield from _pg_schema(PG_URL)


def _pg_schema(url: str) -> Iterator[str]:
    """A fresh schema in the test database (created if missing), dropped afterwards."""
    parsed = make_url(url)
    libpq = parsed.set(drivername="postgresql")
    _ensure_database(libpq.set(database="postgres"), parsed.database or "rollbridge_test")
    schema = f"rb_test_{secrets.token_hex(4)}"
    conninfo = libpq.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _ensure_database(admin: sa.URL, name: str) -> None:
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # created meanwhile
                conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[Store]:
    opened = Store.open(db_url, secret_key=KEY, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def _link(i: int, *, content_hash: str = "h1", start: datetime | None = T0) -> Link:
    return Link(
        key=f"session:ev-{i}",
        kind="course",
        api_id=f"rbc-{i:08x}",
        edusign_id=f"E{i}",
        content_hash=content_hash,
        start_at=None if start is None else start + timedelta(minutes=i),
        end_at=None if start is None else start + timedelta(minutes=i + 90),
    )


# -- opening and schema -------------------------------------------------------------------


def test_migrated_schema_is_exactly_the_declared_tables(store: Store, db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == "0002_session_batches"
    finally:
        engine.dispose()


def test_migrations_downgrade_and_upgrade_again(db_url: str) -> None:
    Store.open(db_url).close()
    engine = sa.create_engine(db_url)
    config = alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        store.upsert_links("t1", "acc", [_link(1)])
        assert list(store.load_links("t1", "acc")) == ["session:ev-1"]


def test_open_again_is_a_no_op_and_keeps_data(db_url: str) -> None:
    with Store.open(db_url) as first:
        first.upsert_links("t1", "acc", [_link(1)])
    with Store.open(db_url) as again:
        assert again.load_links("t1", "acc") == {"session:ev-1": _link(1)}


def test_sqlite_file_gets_its_folder_wal_and_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    with Store.open(f"sqlite:///{path}") as store:
        assert path.exists()
        with store._engine.connect() as conn:  # the settings every connection gets
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_url_for_display_masks_the_password() -> None:
    engine = sa.create_engine("postgresql+psycopg://rb:hunter2@db.example/rollbridge")
    store = Store(engine)
    assert "hunter2" not in store.url_for_display
    assert "hunter2" not in repr(store)
    assert store.url_for_display.startswith("postgresql+psycopg://rb:***@db.example")


def test_unsupported_or_malformed_url_is_refused_plainly() -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        Store.open("mysql://u@h/db")
    with pytest.raises(StoreError, match="not a database URL") as refused:
        Store.open("postgresql+psycopg://rb:hunter2@db.example:port/x")
    assert "hunter2" not in str(refused.value)


# -- links -------------------------------------------------------------------------------


def test_links_round_trip_as_aware_utc(store: Store) -> None:
    paris_start = datetime(2025, 10, 26, 8, 30, tzinfo=PARIS)  # the morning after the change
    links = [
        _link(1),
        _link(2, start=None),
        Link(
            "session:ev-3",
            "course",
            "rbc-3",
            "E3",
            "h",
            paris_start,
            datetime(2025, 3, 30, 8, 30, tzinfo=PARIS),  # summer time
        ),
        Link("learner:42", "student", "rbs-42", "S42", "h"),
    ]
    store.upsert_links("t1", "acc", links)

    loaded = store.load_links("t1", "acc")

    assert loaded == {link.key: link for link in links}
    course = loaded["session:ev-3"]
    assert course.start_at is not None
    assert course.start_at.tzinfo is UTC
    assert course.start_at == datetime(2025, 10, 26, 7, 30, tzinfo=UTC)  # 08:30 CET
    assert course.end_at == datetime(2025, 3, 30, 6, 30, tzinfo=UTC)  # 08:30 CEST
    assert loaded["session:ev-2"].start_at is None


def test_upsert_replaces_by_key_and_accounts_are_separate(store: Store) -> None:
    store.upsert_links("t1", "acc", [_link(1), _link(2)])
    store.upsert_links("t1", "other", [_link(1, content_hash="other")])
    store.upsert_links("t2", "acc", [_link(1, content_hash="tenant2")])

    store.upsert_links("t1", "acc", [_link(2, content_hash="h2"), _link(3)])

    loaded = store.load_links("t1", "acc")
    assert {k: v.content_hash for k, v in loaded.items()} == {
        "session:ev-1": "h1",
        "session:ev-2": "h2",
        "session:ev-3": "h1",
    }
    assert store.load_links("t1", "other")["session:ev-1"].content_hash == "other"
    assert store.load_links("t2", "acc")["session:ev-1"].content_hash == "tenant2"
    assert store.load_links("t1", "nobody") == {}


def test_delete_links_forgets_only_those_keys(store: Store) -> None:
    store.upsert_links("t1", "acc", [_link(i) for i in range(5)])
    store.upsert_links("t1", "other", [_link(1)])

    store.delete_links("t1", "acc", ["session:ev-1", "session:ev-3", "session:unknown"])

    assert sorted(store.load_links("t1", "acc")) == ["session:ev-0", "session:ev-2", "session:ev-4"]
    assert list(store.load_links("t1", "other")) == ["session:ev-1"]


def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = datetime(2025, 1, 1, 8, 0)
    with pytest.raises(StoreError, match="naive datetime"):
        store.upsert_links("t1", "acc", [_link(1, start=naive)])
    with pytest.raises(StoreError, match="naive datetime"):
        store.start_run("t1", "down", at=naive)
    assert store.load_links("t1", "acc") == {}


def test_65k_links_upsert_and_load(store: Store, db_url: str) -> None:
    links = [_link(i, content_hash=f"h{i}") for i in range(65_000)]

    started = time.perf_counter()
    store.upsert_links("big", "acc", links)
    upserted = time.perf_counter()
    loaded = store.load_links("big", "acc")
    done = time.perf_counter()
    changed = [_link(i, content_hash=f"h{i}b") for i in range(0, 65_000, 2)]
    store.upsert_links("big", "acc", changed)
    reupserted = time.perf_counter()
    again = store.load_links("big", "acc")
    reloaded = time.perf_counter()

    backend = make_url(db_url).get_backend_name()
    print(
        f"\n[{backend}] 65,000 links: upsert {upserted - started:.3f} s, "
        f"load {done - upserted:.3f} s; 32,500 changed: upsert {reupserted - done:.3f} s, "
        f"load {reloaded - reupserted:.3f} s"
    )
    assert len(loaded) == 65_000
    assert loaded == {link.key: link for link in links}
    assert again["session:ev-0"].content_hash == "h0b"
    assert again["session:ev-1"].content_hash == "h1"
    assert again["session:ev-64999"] == links[64_999]


# -- runs --------------------------------------------------------------------------------


def test_runs_start_running_and_finish_with_report(store: Store) -> None:
    first = store.start_run("t1", "down", at=T0)
    second = store.start_run("t2", "up", at=T0 + timedelta(minutes=1))
    store.finish_run(
        first,
        status="ok",
        report={"created": {"course": 3}, "held_plan": None, "at": T0, "accounts": {"b", "a"}},
        at=T0.astimezone(PARIS) + timedelta(minutes=5),
    )

    newest_first = store.recent_runs()
    assert [run.id for run in newest_first] == [second, first]
    running, finished = newest_first
    assert (running.status, running.finished_at, running.report) == ("running", None, {})
    assert finished.status == "ok"
    assert finished.finished_at == T0 + timedelta(minutes=5)
    assert finished.finished_at.tzinfo is UTC
    assert finished.report == {
        "created": {"course": 3},
        "held_plan": None,
        "at": T0.isoformat(),  # JSON: datetimes become ISO text, sets sorted lists
        "accounts": ["a", "b"],
    }
    assert [run.id for run in store.recent_runs("t1")] == [first]
    assert len(store.recent_runs(limit=1)) == 1


def test_a_run_finishes_once(store: Store) -> None:
    run_id = store.start_run("t1", "down", at=T0)
    store.finish_run(run_id, status="failed", report={"error": "boom"}, at=T0)
    with pytest.raises(StoreError, match="already finished"):
        store.finish_run(run_id, status="ok", report={}, at=T0)
    with pytest.raises(StoreError, match="no run 999"):
        store.finish_run(999, status="ok", report={}, at=T0)
    assert store.recent_runs()[0].status == "failed"


# -- journal -----------------------------------------------------------------------------


def _entry(key: str, content_hash: str = "h") -> JournalEntry:
    return JournalEntry(key, "course", "create", f"api-{key}", content_hash)


def test_journal_sent_then_finished_is_not_pending(store: Store) -> None:
    run_id = store.start_run("t1", "down", at=T0)
    store.journal_sent(run_id, "t1", "acc", [_entry("a"), _entry("b"), _entry("c")])
    assert [e.key for e in store.pending_sent("t1", "acc")] == ["a", "b", "c"]

    store.journal_finish(
        run_id,
        "acc",
        [
            StepOutcome("a", "done", "E1", None),
            StepOutcome("b", "failed", None, "HTTP 400"),
        ],
    )

    assert store.pending_sent("t1", "acc") == [_entry("c")]
    assert store.pending_sent("t1", "other") == []
    with pytest.raises(StoreError, match="already done"):
        store.journal_finish(run_id, "acc", [StepOutcome("a", "done", "E1", None)])
    with pytest.raises(StoreError, match="never journaled as sent"):
        store.journal_finish(run_id, "acc", [StepOutcome("c", "done"), StepOutcome("zzz", "done")])
    assert store.pending_sent("t1", "acc") == [_entry("c")]  # the refused batch left no trace


def test_sent_steps_of_a_crashed_run_are_pending_until_settled(store: Store) -> None:
    crashed = store.start_run("t1", "down", at=T0)
    store.journal_sent(crashed, "t1", "acc", [_entry("a", "old"), _entry("b"), _entry("c")])
    # the process dies here: nothing finished. The next run finds them and settles them.
    later = store.start_run("t1", "down", at=T0 + timedelta(hours=1))
    store.journal_sent(later, "t1", "acc", [_entry("a", "new")])

    pending = store.pending_sent("t1", "acc")

    assert pending == [_entry("a", "new"), _entry("b"), _entry("c")]  # newest per key
    store.settle_sent("t1", "acc", ["a", "b"])
    assert store.pending_sent("t1", "acc") == [_entry("c")]


def test_an_older_sent_step_is_history_once_a_newer_run_finished_the_key(store: Store) -> None:
    crashed = store.start_run("t1", "down", at=T0)
    store.journal_sent(crashed, "t1", "acc", [_entry("a", "old")])
    later = store.start_run("t1", "down", at=T0 + timedelta(hours=1))
    store.journal_sent(later, "t1", "acc", [_entry("a", "new")])
    store.journal_finish(later, "acc", [StepOutcome("a", "done", "E1")])

    assert store.pending_sent("t1", "acc") == []


def test_journal_refuses_another_tenants_run(store: Store) -> None:
    run_id = store.start_run("t1", "down", at=T0)
    with pytest.raises(StoreError, match="not a run of tenant t2"):
        store.journal_sent(run_id, "t2", "acc", [_entry("a")])
    with pytest.raises(StoreError, match="not a run of tenant t1"):
        store.journal_sent(run_id + 1, "t1", "acc", [_entry("a")])


# -- attendance marks --------------------------------------------------------------------


def test_marks_keep_history_on_change_only(store: Store) -> None:
    absent: dict[str, object] = {"status": "absent", "justified": False}
    late: dict[str, object] = {"status": "late", "minutes": 12}
    store.save_marks(
        "t1", "acc", [("s1", "l1", "h-absent", absent), ("s1", "l2", "h-late", late)], at=T0
    )

    later = T0 + timedelta(days=1)
    store.save_marks("t1", "acc", [("s1", "l1", "h-absent", absent)], at=later)  # identical
    assert store.mark_history("t1", "acc", "s1", "l1") == []
    assert store.load_marks("t1", "acc")[("s1", "l1")] == StoredMark("h-absent", absent, T0)

    justified: dict[str, object] = {"status": "absent", "justified": True}
    store.save_marks("t1", "acc", [("s1", "l1", "h-justified", justified)], at=later)
    evening = later + timedelta(hours=8)
    store.save_marks("t1", "acc", [("s1", "l1", "h-absent", absent)], at=evening)

    marks = store.load_marks("t1", "acc")
    assert marks == {
        ("s1", "l1"): StoredMark("h-absent", absent, evening),
        ("s1", "l2"): StoredMark("h-late", late, T0),
    }
    assert marks[("s1", "l1")].written_at.tzinfo is UTC
    assert store.mark_history("t1", "acc", "s1", "l1") == [
        StoredMark("h-absent", absent, T0),
        StoredMark("h-justified", justified, later),
    ]
    assert store.mark_history("t1", "acc", "s1", "l2") == []
    assert store.load_marks("t1", "other") == {}


def test_many_marks_in_one_save(store: Store) -> None:
    first = [(f"s{i // 30}", f"l{i % 30}", "h1", {"status": "present"}) for i in range(3000)]
    store.save_marks("t1", "acc", first, at=T0)
    second = [
        (s, lrn, "h2" if i % 3 == 0 else h, {"i": i}) for i, (s, lrn, h, _) in enumerate(first)
    ]
    store.save_marks("t1", "acc", second, at=T0 + timedelta(hours=1))

    marks = store.load_marks("t1", "acc")
    assert len(marks) == 3000
    assert sum(1 for m in marks.values() if m.content_hash == "h2") == 1000
    assert store.mark_history("t1", "acc", "s0", "l0") == [
        StoredMark("h1", {"status": "present"}, T0)
    ]
    assert store.mark_history("t1", "acc", "s0", "l1") == []


# -- held plans --------------------------------------------------------------------------


def _hold(store: Store, tenant: str = "t1", at: datetime = T0) -> str:
    return store.hold_plan(
        tenant,
        "down",
        summary={"reasons": ["would cancel 60 courses (> 50)"]},
        cancels={"acc": ["session:1", "session:2"], "acc2": ["learner:9"]},
        at=at,
    )


def test_held_plan_is_approved_then_applied(store: Store) -> None:
    plan_id = _hold(store)
    assert len(plan_id) == 8
    assert int(plan_id, 16) >= 0
    assert [p.id for p in store.held_plans("t1")] == [plan_id]
    assert store.approved_cancels("t1", "down") == (None, {})

    approved = store.resolve_plan(plan_id, "approved", at=T0 + timedelta(hours=1), by="alice")

    assert (approved.status, approved.resolved_by) == ("approved", "alice")
    assert approved.resolved_at == T0 + timedelta(hours=1)
    assert store.held_plans("t1") == []
    assert store.approved_cancels("t1", "down") == (
        plan_id,
        {"acc": {"session:1", "session:2"}, "acc2": {"learner:9"}},
    )
    assert store.approved_cancels("t1", "up") == (None, {})

    applied = store.resolve_plan(plan_id, "applied", at=T0 + timedelta(hours=2), by="rollbridge")

    assert applied.status == "applied"
    assert (applied.resolved_by, applied.applied_by) == ("alice", "rollbridge")
    assert applied.applied_at == T0 + timedelta(hours=2)
    assert store.approved_cancels("t1", "down") == (None, {})
    assert store.get_plan(plan_id) == applied
    assert applied.summary == {"reasons": ["would cancel 60 courses (> 50)"]}
    assert applied.cancels == {"acc": ["session:1", "session:2"], "acc2": ["learner:9"]}
    assert applied.created_at == T0
    assert applied.created_at.tzinfo is UTC


def test_rejected_plan_and_double_resolution_is_refused(store: Store) -> None:
    plan_id = _hold(store)
    store.resolve_plan(plan_id, "rejected", at=T0, by="bob")

    with pytest.raises(StoreError, match="is rejected; it cannot become approved"):
        store.resolve_plan(plan_id, "approved", at=T0, by="alice")
    with pytest.raises(StoreError, match="is rejected; it cannot become applied"):
        store.resolve_plan(plan_id, "applied", at=T0, by="rollbridge")
    with pytest.raises(StoreError, match="no held plan nope"):
        store.resolve_plan("nope", "approved", at=T0, by="alice")
    held = _hold(store)
    with pytest.raises(StoreError, match="is held; it cannot become applied"):
        store.resolve_plan(held, "applied", at=T0, by="rollbridge")
    assert store.approved_cancels("t1", "down") == (None, {})
    assert store.get_plan("nope") is None


def test_held_plans_filters_and_newest_approved_wins(store: Store) -> None:
    old = _hold(store, at=T0)
    new = _hold(store, at=T0 + timedelta(hours=1))
    other = _hold(store, tenant="t2")
    store.resolve_plan(old, "approved", at=T0, by="alice")
    store.resolve_plan(new, "approved", at=T0, by="alice")
    superseded = _hold(store, at=T0 + timedelta(hours=2))
    store.resolve_plan(superseded, "superseded", at=T0, by="rollbridge")

    assert store.approved_cancels("t1", "down")[0] == new
    assert [p.id for p in store.held_plans()] == [other]
    assert [p.id for p in store.held_plans("t1", None)] == [superseded, new, old]
    assert [p.id for p in store.held_plans(None, "superseded")] == [superseded]


# -- run lock ----------------------------------------------------------------------------


def test_run_lock_excludes_a_second_run(store: Store, db_url: str, clock: Clock) -> None:
    # `elsewhere` is another process as far as the database can tell
    elsewhere = Store.open(db_url, clock=clock)
    with store.run_lock("t1", "down", holder="worker-1"), elsewhere:
        with pytest.raises(StoreError) as refused, elsewhere.run_lock("t1", "down", holder="w2"):
            pytest.fail("two down runs of t1 at once")
        with elsewhere.run_lock("t1", "up", holder="worker-2"):
            pass  # the other direction is free
        with elsewhere.run_lock("t2", "down", holder="worker-2"):
            pass  # and so is another tenant
    message = str(refused.value)
    assert message.startswith("another down run of t1 is in progress since 2025-03-30 00:30:00 UTC")
    assert "worker-1" in message

    with store.run_lock("t1", "down", holder="worker-2"):
        pass  # released on exit


def test_run_lock_is_released_when_the_run_raises(store: Store) -> None:
    with pytest.raises(RuntimeError), store.run_lock("t1", "down", holder="w"):
        raise RuntimeError
    with store.run_lock("t1", "down", holder="w"):
        pass


def test_expired_run_lock_is_taken_over(store: Store, clock: Clock) -> None:
    stale = store.run_lock("t1", "down", holder="dead-worker", ttl_s=600, renew_every_s=0)
    stale.__enter__()  # a worker that died without releasing
    clock.now = T0 + timedelta(seconds=599)
    with pytest.raises(StoreError, match="in progress"), store.run_lock("t1", "down", holder="w2"):
        pass

    clock.now = T0 + timedelta(seconds=601)
    with store.run_lock("t1", "down", holder="w2"):
        stale.__exit__(None, None, None)  # the old holder's late release leaves w2's lock
        with (
            pytest.raises(StoreError, match="held by w2"),
            store.run_lock("t1", "down", holder="w3"),
        ):
            pass


def test_a_long_run_keeps_its_lock_past_the_expiry(store: Store, clock: Clock) -> None:
    with store.run_lock("t1", "down", holder="long-run", ttl_s=600, renew_every_s=0.02):
        for now in (300, 800, 1300):  # seconds into the run; the first expiry is at 600
            clock.now = T0 + timedelta(seconds=now)
            time.sleep(0.2)  # a few heartbeats, each pushing the expiry to now + 600
            clock.now = T0 + timedelta(seconds=now + 400)
            with (
                pytest.raises(StoreError, match="held by long-run"),
                store.run_lock("t1", "down", holder="w2", renew_every_s=0),
            ):
                pass
    with store.run_lock("t1", "down", holder="w3", renew_every_s=0):
        pass  # released on exit


# -- secrets -----------------------------------------------------------------------------


def test_secrets_are_encrypted_at_rest(store: Store, db_url: str) -> None:
    planted = "pl4nted-" + secrets.token_hex(8)
    store.put_secret("t1", "edusign.api_key", SecretStr(planted))
    store.put_secret("t1", "source.password", SecretStr("other"))

    assert store.get_secret("t1", "edusign.api_key") == SecretStr(planted)
    assert store.get_secret("t1", "missing") is None
    assert store.get_secret("t2", "edusign.api_key") is None
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            raw = conn.execute(sa.text("SELECT tenant, name, ciphertext FROM secrets")).all()
    finally:
        engine.dispose()
    assert len(raw) == 2
    assert planted not in repr(raw)

    store.put_secret("t1", "edusign.api_key", SecretStr("rotated"))
    assert store.get_secret("t1", "edusign.api_key") == SecretStr("rotated")


def test_wrong_key_says_so_without_the_ciphertext(store: Store, db_url: str) -> None:
    store.put_secret("t1", "edusign.api_key", SecretStr("s3cret"))
    with (
        Store.open(db_url, secret_key=generate_key()) as wrong,
        pytest.raises(StoreError, match="key does not match") as refused,
    ):
        wrong.get_secret("t1", "edusign.api_key")
    assert "gAAAA" not in str(refused.value)  # every Fernet token starts so
    assert "s3cret" not in str(refused.value)
    assert refused.value.where == {"tenant": "t1", "secret": "edusign.api_key"}


def test_secrets_without_a_key(db_url: str) -> None:
    with (
        Store.open(db_url) as keyless,
        pytest.raises(StoreError, match=r"without a secret key.*ROLLBRIDGE_SECRET_KEY"),
    ):
        keyless.put_secret("t1", "edusign.api_key", SecretStr("x"))
    with Store.open(db_url, secret_key=KEY) as keyed:
        keyed.put_secret("t1", "edusign.api_key", SecretStr("x"))
    with (
        Store.open(db_url) as keyless,
        pytest.raises(StoreError, match="opened without the secret key"),
    ):
        keyless.get_secret("t1", "edusign.api_key")


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secret.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert decrypt(key, encrypt(key, "héllo")) == "héllo"
    assert key_from_env(f"  {key.decode()}\n") == key

    path.write_text("not a key")
    with pytest.raises(ConfigError, match=r"not URL-safe base64.*secret\.key"):
        load_or_create_key(path)


@pytest.mark.parametrize("value", ["", "not-base64!!", "c2hvcnQ="])
def test_bad_env_key_is_explained_without_echoing_it(value: str) -> None:
    with pytest.raises(ConfigError, match="secret key") as refused:
        key_from_env(value)
    assert "Fernet.generate_key" in str(refused.value)
    if value:
        assert value not in str(refused.value)


def test_decrypt_with_another_key_is_a_store_error() -> None:
    token = encrypt(KEY, "x")
    with pytest.raises(StoreError, match="does not match"):
        decrypt(generate_key(), token)


# -- concurrency -------------------------------------------------------------------------


def test_concurrent_writers_queue_instead_of_failing(db_url: str) -> None:
    errors: list[BaseException] = []

    def write(account: str) -> None:
        try:
            with Store.open(db_url) as own:
                for round_ in range(10):
                    own.upsert_links(
                        "t1", account, [_link(i, content_hash=f"{round_}") for i in range(300)]
                    )
                    run_id = own.start_run("t1", "down", at=T0)
                    own.journal_sent(run_id, "t1", account, [_entry("a")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"acc{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with Store.open(db_url) as store:
        assert all(len(store.load_links("t1", f"acc{n}")) == 300 for n in range(4))
        assert len(store.recent_runs(limit=100)) == 40


# -- session batches --------------------------------------------------------------------


@pytest.mark.parametrize("extra_skipped", [0, 600])  # 600: past the IN list, filtered in Python
def test_links_of_skipped_batches_are_not_loaded(store: Store, extra_skipped: int) -> None:
    store.upsert_links("t1", "acc", [_link(i) for i in range(1, 7)])
    tags = {"session:ev-1": "b1", "session:ev-2": "b1", "session:ev-3": "b2"}
    settled = [
        SettledBatch("b1", "f1", 2, {"acc": 2}, (("session", "ev-9", "broken", ""),)),
        SettledBatch("b2", "f2", 1, {"acc": 1}),
    ]
    store.settle_batches("t1", settled, {"acc": tags}, rebuilt=["b1", "b2"], keep=["b1", "b2"])
    assert store.batch_link_counts("t1") == {"b1": {"acc": 2}, "b2": {"acc": 1}}
    assert store.settled_batches("t1")["b1"] == settled[0]
    skip = {"b1", *(f"x{i}" for i in range(extra_skipped))}
    loaded = store.load_links("t1", "acc", skip_batches=skip)
    assert sorted(loaded) == [f"session:ev-{i}" for i in range(3, 7)]
    assert loaded["session:ev-3"] == _link(3)


def test_settling_untags_links_a_rebuilt_batch_no_longer_wants(store: Store) -> None:
    store.upsert_links("t1", "acc", [_link(i) for i in range(1, 4)])
    first = [SettledBatch("b1", "f1", 3, {"acc": 3})]
    tags = {f"session:ev-{i}": "b1" for i in range(1, 4)}
    store.settle_batches("t1", first, {"acc": tags}, rebuilt=["b1"], keep=["b1"])
    store.forget_batches("t1", ["b1"])
    assert store.settled_batches("t1") == {}
    again = [SettledBatch("b1", "f2", 1, {"acc": 1})]
    store.settle_batches("t1", again, {"acc": {"session:ev-1": "b1"}}, rebuilt=["b1"], keep=["b1"])
    assert store.batch_link_counts("t1") == {"b1": {"acc": 1}}
    assert sorted(store.load_links("t1", "acc", skip_batches={"b1"})) == [
        "session:ev-2",
        "session:ev-3",
    ]
    # A batch the read no longer has is forgotten.
    store.settle_batches("t1", [], {}, rebuilt=[], keep=[])
    assert store.settled_batches("t1") == {}


def test_linked_keys_finds_only_existing_links(store: Store) -> None:
    store.upsert_links("t1", "acc", [_link(1), _link(2)])
    assert store.linked_keys("t1", "acc", ["session:ev-2", "session:ev-7"]) == {"session:ev-2"}
