"""The `Store`: links, runs, journal, marks, held plans, run locks and secrets in SQL.

Every public method is one unit of work: one transaction, committed when the method
returns, rolled back if it raises. Database errors become `StoreError` (without SQL
parameters, which may hold personal data). SQLite write transactions start with
`BEGIN IMMEDIATE`, so concurrent writers queue on `busy_timeout` instead of failing
half-way; PostgreSQL relies on primary keys and compare-and-set updates.

Journal states (dlt's job states are the model):

    sent ──▶ done | failed | skipped        (journal_finish, by the run that sent it)
    sent ──▶ settled                        (settle_sent, by a later run after an API_ID lookup)

Held plan states: held ──▶ approved | rejected | superseded; approved ──▶ applied.
"""

from __future__ import annotations

import json
import secrets as random_tokens
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal, NoReturn, TypeVar, cast, get_args

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from pydantic import SecretStr
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from rollbridge.errors import RollbridgeError, StoreError
from rollbridge.gcpause import gc_paused
from rollbridge.identity import EdusignKind, Link
from rollbridge.store import crypto
from rollbridge.store.tables import held_plans, journal, run_locks, runs, utc_column
from rollbridge.store.tables import links as links_table
from rollbridge.store.tables import mark_history as history_table
from rollbridge.store.tables import marks as marks_table
from rollbridge.store.tables import secrets as secrets_table

Direction = Literal["down", "up"]
RunStatus = Literal["running", "ok", "held", "failed", "partial"]
StepState = Literal["sent", "done", "failed", "skipped", "settled"]
PlanStatus = Literal["held", "approved", "rejected", "applied", "superseded"]

_FINISHED_RUN: frozenset[str] = frozenset(get_args(RunStatus)) - {"running"}
_FINAL_STEP: frozenset[str] = frozenset({"done", "failed", "skipped"})
_PLAN_MOVES: dict[str, frozenset[str]] = {
    "held": frozenset({"approved", "rejected", "superseded"}),
    "approved": frozenset({"applied"}),
}
_MIGRATIONS = Path(__file__).with_name("migrations")
_CHUNK = 5000  # rows per executemany call: bounded memory, one transaction
_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit
_IMMEDIATE = "rollbridge_sqlite_immediate"
_PG_MIGRATION_LOCK = 0x726F6C6C  # "roll": one migrating process at a time
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One sync run; `status` is 'running' until `finish_run`, `report` empty until then."""

    id: int
    tenant: str
    direction: Direction
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    report: dict[str, object]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A write about to be sent to Edusign (`content_hash` is "" when nothing is written)."""

    key: str
    kind: EdusignKind
    action: str
    api_id: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How a sent step ended."""

    key: str
    state: Literal["done", "failed", "skipped"]
    edusign_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMark:
    """An attendance mark as written to the source system (or a previous value of it)."""

    content_hash: str
    payload: dict[str, object]
    written_at: datetime


@dataclass(frozen=True, slots=True)
class HeldPlan:
    """A plan the deletion circuit breaker stopped; `cancels` is account -> source keys.

    `resolved_at`/`resolved_by` record the decision on the held plan (approve, reject,
    supersede); `applied_at`/`applied_by` record when an approved plan was carried out.
    """

    id: str
    tenant: str
    direction: str
    status: PlanStatus
    summary: dict[str, object]
    cancels: dict[str, list[str]]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    applied_at: datetime | None = None
    applied_by: str | None = None


class Store:
    """rollbridge's database: SQLite (one file) or PostgreSQL, migrated on open."""

    url_for_display: str

    def __init__(
        self,
        engine: Engine,
        *,
        secret_key: bytes | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Wrap an engine whose database is already migrated; prefer `Store.open`."""
        self._engine = engine
        self._dialect = engine.dialect.name
        self._key = secret_key
        self._clock = clock or _utc_now
        self._utc_column = utc_column(self._dialect)
        self.url_for_display = engine.url.render_as_string(hide_password=True)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        secret_key: bytes | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Store:
        """Connect to `url`, create the SQLite file if needed and migrate to the newest schema."""
        if secret_key is not None:
            secret_key = crypto.key_from_env(secret_key.decode("ascii", errors="replace"))
        engine = _create_engine(url)
        try:
            _migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, secret_key=secret_key, clock=clock)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_for_display!r})"

    # -- secrets -----------------------------------------------------------------------

    def put_secret(self, tenant: str, name: str, value: SecretStr) -> None:
        """Store `value` encrypted with the store's key."""
        if self._key is None:
            raise StoreError(
                f"cannot store a secret without a secret key; {crypto.HOW_TO_GET_A_KEY}",
                tenant=tenant,
                secret=name,
            )
        token = crypto.encrypt(self._key, value.get_secret_value())
        stmt = self._upsert(secrets_table, ("tenant", "name"), ("ciphertext",), changed_only=False)
        with self._tx("store a secret", tenant=tenant, secret=name) as conn:
            conn.execute(stmt, {"tenant": tenant, "name": name, "ciphertext": token})

    def get_secret(self, tenant: str, name: str) -> SecretStr | None:
        """The decrypted secret, None if none is stored."""
        stmt = sa.select(secrets_table.c.ciphertext).where(
            secrets_table.c.tenant == tenant, secrets_table.c.name == name
        )
        with self._read("read a secret", tenant=tenant, secret=name) as conn:
            token = conn.execute(stmt).scalar_one_or_none()
        if token is None:
            return None
        if self._key is None:
            raise StoreError(
                "a secret is stored but the store was opened without the secret key; "
                "pass the key it was stored with (ROLLBRIDGE_SECRET_KEY or the key file)",
                tenant=tenant,
                secret=name,
            )
        try:
            return SecretStr(crypto.decrypt(self._key, token))
        except StoreError as exc:
            raise StoreError(exc.message, tenant=tenant, secret=name) from None

    # -- links -------------------------------------------------------------------------

    def load_links(self, tenant: str, account: str) -> dict[str, Link]:
        """Every link of one account, by source key.

        The hot read of every run: rows come straight from the driver's cursor (no
        per-row SQLAlchemy objects), timestamps are converted a column at a time, and
        the GC is paused until the temporary rows are gone (see `gc_paused`).
        """
        with gc_paused():
            return self._load_links(tenant, account)

    def _load_links(self, tenant: str, account: str) -> dict[str, Link]:
        c = links_table.c
        stmt = sa.select(
            c.key, c.kind, c.api_id, c.edusign_id, c.content_hash, c.start_at, c.end_at
        ).where(c.tenant == tenant, c.account == account)
        with self._read("load links", tenant=tenant, account=account) as conn:
            result = conn.execute(stmt)
            rows = result.cursor.fetchall()
            result.close()
        if not rows:
            return {}
        keys, kinds, api_ids, edusign_ids, hashes, starts, ends = zip(*rows, strict=True)
        del rows
        utc = self._utc_column
        built = map(Link, keys, kinds, api_ids, edusign_ids, hashes, utc(starts), utc(ends))
        return dict(zip(keys, built, strict=True))

    def upsert_links(self, tenant: str, account: str, links: Sequence[Link]) -> None:
        """Insert or replace links by key, in one transaction; equal rows are not rewritten."""
        rows = {
            link.key: {
                "tenant": tenant,
                "account": account,
                "key": link.key,
                "kind": link.kind,
                "api_id": link.api_id,
                "edusign_id": link.edusign_id,
                "content_hash": link.content_hash,
                "start_at": link.start_at,
                "end_at": link.end_at,
            }
            for link in links
        }
        stmt = self._upsert(
            links_table,
            ("tenant", "account", "key"),
            ("kind", "api_id", "edusign_id", "content_hash", "start_at", "end_at"),
            changed_only=True,
        )
        with self._tx("save links", tenant=tenant, account=account) as conn:
            for chunk in _chunks(list(rows.values()), _CHUNK):
                conn.execute(stmt, chunk)

    def delete_links(self, tenant: str, account: str, keys: Sequence[str]) -> None:
        """Forget the links of `keys` (unknown keys are ignored)."""
        c = links_table.c
        stmt = sa.delete(links_table).where(
            c.tenant == tenant, c.account == account, c.key == sa.bindparam("b_key")
        )
        with self._tx("delete links", tenant=tenant, account=account) as conn:
            _execute_per_key(conn, stmt, keys)

    # -- runs --------------------------------------------------------------------------

    def start_run(self, tenant: str, direction: Direction, *, at: datetime) -> int:
        """Record a run as 'running' and return its id (ids only grow)."""
        _check(direction, get_args(Direction), "direction")
        values = {
            "tenant": tenant,
            "direction": direction,
            "status": "running",
            "started_at": _aware(at),
        }
        with self._tx("start a run", tenant=tenant) as conn:
            return int(
                conn.execute(sa.insert(runs).values(values).returning(runs.c.id)).scalar_one()
            )

    def finish_run(
        self,
        run_id: int,
        *,
        status: Literal["ok", "held", "failed", "partial"],
        report: dict[str, object],
        at: datetime,
    ) -> None:
        """Close a running run with its status and report; a run is finished only once."""
        _check(status, tuple(_FINISHED_RUN), "run status")
        stmt = (
            sa.update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(status=status, report=report, finished_at=_aware(at))
        )
        with self._tx("finish a run", run=str(run_id)) as conn:
            if conn.execute(stmt).rowcount == 1:
                return
            current = conn.execute(
                sa.select(runs.c.status).where(runs.c.id == run_id)
            ).scalar_one_or_none()
        if current is None:
            raise StoreError(f"no run {run_id}", run=str(run_id))
        raise StoreError(f"run {run_id} is already finished ({current})", run=str(run_id))

    def recent_runs(self, tenant: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest runs first, of one tenant or of all."""
        stmt = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if tenant is not None:
            stmt = stmt.where(runs.c.tenant == tenant)
        with self._read("list runs") as conn:
            rows = conn.execute(stmt).all()
        return [
            RunRecord(
                id=row.id,
                tenant=row.tenant,
                direction=cast(Direction, row.direction),
                status=cast(RunStatus, row.status),
                started_at=row.started_at,
                finished_at=row.finished_at,
                report=dict(row.report or {}),
            )
            for row in rows
        ]

    # -- journal -----------------------------------------------------------------------

    def journal_sent(
        self, run_id: int, tenant: str, account: str, entries: Sequence[JournalEntry]
    ) -> None:
        """Record steps as 'sent' before their requests go out; one transaction for the batch."""
        rows = {
            entry.key: {
                "run_id": run_id,
                "account": account,
                "key": entry.key,
                "tenant": tenant,
                "kind": entry.kind,
                "action": entry.action,
                "api_id": entry.api_id,
                "content_hash": entry.content_hash,
                "state": "sent",
                "edusign_id": None,
                "error": None,
            }
            for entry in entries
        }
        stmt = self._upsert(
            journal,
            ("run_id", "account", "key"),
            ("kind", "action", "api_id", "content_hash", "state", "edusign_id", "error"),
            changed_only=False,
        )
        where = {"tenant": tenant, "account": account, "run": str(run_id)}
        with self._tx("journal sent steps", **where) as conn:
            owner = conn.execute(
                sa.select(runs.c.tenant).where(runs.c.id == run_id)
            ).scalar_one_or_none()
            if owner != tenant:
                raise StoreError(f"run {run_id} is not a run of tenant {tenant}", **where)
            for chunk in _chunks(list(rows.values()), _CHUNK):
                conn.execute(stmt, chunk)
            self._supersede_older_sent(conn, run_id, tenant, account, list(rows))

    @staticmethod
    def _supersede_older_sent(
        conn: Connection, run_id: int, tenant: str, account: str, keys: Sequence[str]
    ) -> None:
        """Keep one 'sent' row per key, the newest: a new step on a key settles older ones.

        Normally a run settles what a crashed run left before sending anything new, so
        the cheap check finds nothing and no update runs.
        """
        c = journal.c
        older = (c.tenant == tenant, c.account == account, c.state == "sent", c.run_id < run_id)
        if conn.execute(sa.select(c.key).where(*older).limit(1)).first() is None:
            return
        stmt = (
            sa.update(journal).where(*older, c.key == sa.bindparam("b_key")).values(state="settled")
        )
        _execute_per_key(conn, stmt, keys)

    def journal_finish(self, run_id: int, account: str, outcomes: Sequence[StepOutcome]) -> None:
        """Move sent steps of this run to done, failed or skipped; one transaction."""
        final = {outcome.key: outcome for outcome in outcomes}
        for outcome in final.values():
            _check(outcome.state, tuple(_FINAL_STEP), "step state")
        c = journal.c
        where = {"account": account, "run": str(run_id)}
        this_step = (c.run_id == run_id, c.account == account, c.key == sa.bindparam("b_key"))
        update = (
            sa.update(journal)
            .where(*this_step, c.state == "sent")
            .values(
                state=sa.bindparam("b_state"),
                edusign_id=sa.bindparam("b_edusign_id"),
                error=sa.bindparam("b_error"),
            )
        )
        params = [
            {"b_key": o.key, "b_state": o.state, "b_edusign_id": o.edusign_id, "b_error": o.error}
            for o in final.values()
        ]
        try:
            with self._tx("journal step outcomes", **where) as conn:
                batches = _chunks(params, _CHUNK)
                if sum(conn.execute(update, batch).rowcount for batch in batches) != len(params):
                    raise _NotAllSentError  # rolls the whole batch back
        except _NotAllSentError:
            self._refuse_outcomes(run_id, account, sorted(final))

    def _refuse_outcomes(self, run_id: int, account: str, keys: Sequence[str]) -> NoReturn:
        """Say which steps of a refused `journal_finish` batch were not 'sent'."""
        c = journal.c
        where = {"account": account, "run": str(run_id)}
        found = sa.select(c.state).where(
            c.run_id == run_id, c.account == account, c.key == sa.bindparam("b_key")
        )
        with self._read("read step states", **where) as conn:
            states = {key: conn.execute(found, {"b_key": key}).scalar() for key in keys}
        missing = [key for key in keys if states[key] is None]
        if missing:
            raise StoreError(
                f"{len(missing)} step(s) were never journaled as sent "
                f"(first: {missing[0]}); call journal_sent before sending",
                **where,
            )
        first = next(key for key in keys if states[key] != "sent")
        raise StoreError(
            f"step {first} is already {states[first]}; it cannot be finished again", **where
        )

    def pending_sent(self, tenant: str, account: str) -> list[JournalEntry]:
        """Steps journaled 'sent' whose outcome was never recorded (the run died), by key.

        There is at most one per key, the newest: journaling a key again settles older
        'sent' rows of it (see `_supersede_older_sent`).
        """
        c = journal.c
        stmt = (
            sa.select(c.key, c.kind, c.action, c.api_id, c.content_hash)
            .where(c.tenant == tenant, c.account == account, c.state == "sent")
            .order_by(c.key, c.run_id)
        )
        with self._read("read pending steps", tenant=tenant, account=account) as conn:
            newest = {row[0]: JournalEntry(*row) for row in conn.execute(stmt)}
        return list(newest.values())

    def settle_sent(self, tenant: str, account: str, keys: Sequence[str]) -> None:
        """Mark every 'sent' step of these keys 'settled' (their outcome is now known)."""
        c = journal.c
        stmt = (
            sa.update(journal)
            .where(
                c.tenant == tenant,
                c.account == account,
                c.key == sa.bindparam("b_key"),
                c.state == "sent",
            )
            .values(state="settled")
        )
        with self._tx("settle sent steps", tenant=tenant, account=account) as conn:
            _execute_per_key(conn, stmt, keys)

    # -- attendance marks --------------------------------------------------------------

    def load_marks(self, tenant: str, account: str) -> dict[tuple[str, str], StoredMark]:
        """The last written mark of every (session key, learner key) of one account."""
        with gc_paused():
            return self._load_marks(tenant, account)

    def _load_marks(self, tenant: str, account: str) -> dict[tuple[str, str], StoredMark]:
        c = marks_table.c
        stmt = sa.select(
            c.session_key, c.learner_key, c.content_hash, c.payload, c.written_at
        ).where(c.tenant == tenant, c.account == account)
        with self._read("load marks", tenant=tenant, account=account) as conn:
            rows = conn.execute(stmt).all()
        return {(row[0], row[1]): StoredMark(row[2], row[3], row[4]) for row in rows}

    def save_marks(
        self,
        tenant: str,
        account: str,
        marks: Sequence[tuple[str, str, str, Mapping[str, object]]],
        *,
        at: datetime,
    ) -> None:
        """Record marks written at `at`; a changed mark's previous value goes to history.

        A mark saved again with the same content hash is left as it was (same
        `written_at`, no history row).
        """
        at = _aware(at)
        wanted = {(s, lrn): (h, p) for s, lrn, h, p in marks}
        c = marks_table.c
        where = {"tenant": tenant, "account": account}
        with self._tx("save marks", **where) as conn:
            have: dict[tuple[str, str], tuple[str, object, datetime]] = {}
            # By session, not by (session, learner) pairs: PostgreSQL turns a long row-value
            # IN list into an OR chain that scans; `session_key IN` walks the primary key.
            for chunk in _chunks(sorted({session for session, _ in wanted}), _IN_CHUNK):
                rows = conn.execute(
                    sa.select(
                        c.session_key, c.learner_key, c.content_hash, c.payload, c.written_at
                    ).where(c.tenant == tenant, c.account == account, c.session_key.in_(chunk))
                )
                have.update(
                    {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows if (r[0], r[1]) in wanted}
                )
            new = [pair for pair in wanted if pair not in have]
            changed = [pair for pair in wanted if pair in have and have[pair][0] != wanted[pair][0]]
            history = [
                {
                    **where,
                    "session_key": s,
                    "learner_key": lrn,
                    "content_hash": have[s, lrn][0],
                    "payload": have[s, lrn][1],
                    "written_at": have[s, lrn][2],
                    "replaced_at": at,
                }
                for s, lrn in changed
            ]
            for batch in _chunks(history, _CHUNK):
                conn.execute(sa.insert(history_table), batch)
            inserts = [
                {
                    **where,
                    "session_key": s,
                    "learner_key": lrn,
                    "content_hash": wanted[s, lrn][0],
                    "payload": wanted[s, lrn][1],
                    "written_at": at,
                }
                for s, lrn in new
            ]
            for batch in _chunks(inserts, _CHUNK):
                conn.execute(sa.insert(marks_table), batch)
            update = (
                sa.update(marks_table)
                .where(
                    c.tenant == tenant,
                    c.account == account,
                    c.session_key == sa.bindparam("b_session"),
                    c.learner_key == sa.bindparam("b_learner"),
                )
                .values(
                    content_hash=sa.bindparam("b_hash"),
                    payload=sa.bindparam("b_payload", type_=sa.JSON),
                    written_at=sa.bindparam("b_at", type_=marks_table.c.written_at.type),
                )
            )
            updates = [
                {
                    "b_session": s,
                    "b_learner": lrn,
                    "b_hash": wanted[s, lrn][0],
                    "b_payload": wanted[s, lrn][1],
                    "b_at": at,
                }
                for s, lrn in changed
            ]
            for batch in _chunks(updates, _CHUNK):
                conn.execute(update, batch)

    def mark_history(
        self, tenant: str, account: str, session_key: str, learner_key: str
    ) -> list[StoredMark]:
        """The values a mark had before its current one, oldest first."""
        c = history_table.c
        stmt = (
            sa.select(c.content_hash, c.payload, c.written_at)
            .where(
                c.tenant == tenant,
                c.account == account,
                c.session_key == session_key,
                c.learner_key == learner_key,
            )
            .order_by(c.id)
        )
        with self._read("read mark history", tenant=tenant, account=account) as conn:
            rows = conn.execute(stmt).all()
        return [StoredMark(*row) for row in rows]

    # -- held plans --------------------------------------------------------------------

    def hold_plan(
        self,
        tenant: str,
        direction: str,
        *,
        summary: dict[str, object],
        cancels: dict[str, list[str]],
        at: datetime,
    ) -> str:
        """Store a plan the deletion guard stopped; returns its short id (8 hex digits)."""
        values = {
            "tenant": tenant,
            "direction": direction,
            "status": "held",
            "summary": summary,
            "cancels": {account: list(keys) for account, keys in cancels.items()},
            "created_at": _aware(at),
        }
        for _ in range(5):  # 2^32 ids: a collision is rare, two in a row is not a thing
            plan_id = random_tokens.token_hex(4)
            with self._tx("hold a plan", tenant=tenant) as conn:
                taken = conn.execute(
                    sa.select(held_plans.c.id).where(held_plans.c.id == plan_id)
                ).first()
                if taken is None:
                    conn.execute(sa.insert(held_plans).values(id=plan_id, **values))
                    return plan_id
        raise StoreError("could not find a free plan id", tenant=tenant)

    def held_plans(self, tenant: str | None = None, status: str | None = "held") -> list[HeldPlan]:
        """Plans newest first, filtered by tenant and status (None: any)."""
        stmt = sa.select(held_plans).order_by(held_plans.c.created_at.desc(), held_plans.c.id)
        if tenant is not None:
            stmt = stmt.where(held_plans.c.tenant == tenant)
        if status is not None:
            stmt = stmt.where(held_plans.c.status == status)
        with self._read("list held plans") as conn:
            return [_plan(row) for row in conn.execute(stmt)]

    def get_plan(self, plan_id: str) -> HeldPlan | None:
        """One plan by id, None if unknown."""
        stmt = sa.select(held_plans).where(held_plans.c.id == plan_id)
        with self._read("read a held plan", plan=plan_id) as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _plan(row)

    def resolve_plan(
        self,
        plan_id: str,
        status: Literal["approved", "rejected", "applied", "superseded"],
        *,
        at: datetime,
        by: str,
    ) -> HeldPlan:
        """Decide a held plan (approve, reject, supersede) or mark an approved one applied."""
        at = _aware(at)
        c = held_plans.c
        with self._tx("resolve a held plan", plan=plan_id) as conn:
            row = conn.execute(
                sa.select(held_plans).where(c.id == plan_id).with_for_update()
            ).first()
            if row is None:
                raise StoreError(f"no held plan {plan_id}", plan=plan_id)
            if status not in _PLAN_MOVES.get(row.status, frozenset()):
                raise StoreError(
                    f"plan {plan_id} is {row.status}; it cannot become {status}",
                    plan=plan_id,
                    tenant=row.tenant,
                )
            who = (
                {"applied_at": at, "applied_by": by}
                if status == "applied"
                else {"resolved_at": at, "resolved_by": by}
            )
            conn.execute(
                sa.update(held_plans)
                .where(c.id == plan_id, c.status == row.status)
                .values(status=status, **who)
            )
            return _plan(conn.execute(sa.select(held_plans).where(c.id == plan_id)).one())

    def approved_cancels(
        self, tenant: str, direction: str
    ) -> tuple[str | None, dict[str, set[str]]]:
        """The newest approved, not yet applied plan of (tenant, direction) and its cancels."""
        c = held_plans.c
        stmt = (
            sa.select(c.id, c.cancels)
            .where(c.tenant == tenant, c.direction == direction, c.status == "approved")
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(1)
        )
        with self._read("read approved plans", tenant=tenant) as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None, {}
        return row.id, {account: set(keys) for account, keys in row.cancels.items()}

    # -- run lock ----------------------------------------------------------------------

    @contextmanager
    def run_lock(
        self, tenant: str, direction: str, *, holder: str, ttl_s: float = 3600
    ) -> Iterator[None]:
        """Hold the (tenant, direction) run lock; StoreError if someone else holds it.

        The lock is a row with an expiry: a holder that died without releasing it is
        taken over once `ttl_s` has passed.
        """
        if ttl_s < 0:
            raise StoreError("a lock's ttl_s cannot be negative", tenant=tenant)
        token = self._acquire(tenant, direction, holder, ttl_s)
        try:
            yield
        finally:
            with self._tx("release the run lock", tenant=tenant) as conn:
                conn.execute(
                    sa.delete(run_locks).where(
                        run_locks.c.tenant == tenant,
                        run_locks.c.direction == direction,
                        run_locks.c.token == token,
                    )
                )

    def _acquire(self, tenant: str, direction: str, holder: str, ttl_s: float) -> str:
        c = run_locks.c
        token = random_tokens.token_hex(16)
        for _ in range(3):  # the holder may release between our insert and our look
            now = self._now()
            values = {
                "holder": holder,
                "token": token,
                "acquired_at": now,
                "expires_at": now + timedelta(seconds=ttl_s),
            }
            with self._tx("take the run lock", tenant=tenant) as conn:
                inserted = conn.execute(
                    self._insert(run_locks).on_conflict_do_nothing().returning(c.token),
                    {"tenant": tenant, "direction": direction, **values},
                ).first()
                if inserted is not None:
                    return token
                taken_over = conn.execute(
                    sa.update(run_locks)
                    .where(c.tenant == tenant, c.direction == direction, c.expires_at <= now)
                    .values(values)
                )
                if taken_over.rowcount == 1:
                    return token
                current = conn.execute(
                    sa.select(c.holder, c.acquired_at, c.expires_at).where(
                        c.tenant == tenant, c.direction == direction
                    )
                ).first()
            if current is not None:
                raise StoreError(
                    f"another {direction} run of {tenant} is in progress since "
                    f"{current.acquired_at:%Y-%m-%d %H:%M:%S} UTC (held by {current.holder}; "
                    f"the lock expires at {current.expires_at:%Y-%m-%d %H:%M:%S} UTC)",
                    tenant=tenant,
                    direction=direction,
                )
        raise StoreError(f"could not take the {direction} run lock of {tenant}", tenant=tenant)

    # -- plumbing ----------------------------------------------------------------------

    def _now(self) -> datetime:
        return _aware(self._clock())

    def _insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        return postgresql.insert(table) if self._dialect == "postgresql" else sqlite.insert(table)

    def _upsert(
        self,
        table: sa.Table,
        keys: Sequence[str],
        columns: Sequence[str],
        *,
        changed_only: bool,
    ) -> sa.Insert:
        """INSERT … ON CONFLICT (keys) DO UPDATE columns; `changed_only` skips equal rows."""
        stmt = self._insert(table)
        excluded = stmt.excluded
        changed = (
            sa.or_(*(table.c[name].is_distinct_from(excluded[name]) for name in columns))
            if changed_only
            else None
        )
        return stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: excluded[name] for name in columns},
            where=changed,
        )

    def _tx(self, doing: str, **where: str) -> AbstractContextManager[Connection]:
        """One write transaction (unit of work)."""
        return self._transaction(doing, where, write=True)

    def _read(self, doing: str, **where: str) -> AbstractContextManager[Connection]:
        """One read-only transaction."""
        return self._transaction(doing, where, write=False)

    @contextmanager
    def _transaction(
        self, doing: str, where: dict[str, str], *, write: bool
    ) -> Iterator[Connection]:
        """Commit on success, roll back on error; database errors become StoreError."""
        try:
            with self._engine.connect() as conn:
                if write:
                    conn.execution_options(**{_IMMEDIATE: True})
                with conn.begin():
                    yield conn
        except RollbridgeError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"the store could not {doing}: {_reason(exc)}", **where) from exc


def _plan(row: sa.Row[tuple[object, ...]]) -> HeldPlan:
    m = row._mapping
    cancels = m["cancels"]
    return HeldPlan(
        id=m["id"],
        tenant=m["tenant"],
        direction=m["direction"],
        status=cast(PlanStatus, m["status"]),
        summary=dict(m["summary"]),
        cancels={account: list(keys) for account, keys in cancels.items()},
        created_at=m["created_at"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        applied_at=m["applied_at"],
        applied_by=m["applied_by"],
    )


def _create_engine(url: str) -> Engine:
    """An engine for SQLite (file folder created, WAL, busy timeout) or PostgreSQL."""
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # not the parser's message: it repeats the URL, password included
        raise StoreError(
            "not a database URL: expected sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    options: dict[str, object] = {"hide_parameters": True, "json_serializer": _json_dumps}
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, **options)
    if backend != "sqlite":
        raise StoreError(
            f"unsupported database {backend!r}: use sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host/db"
        )
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if in_memory:
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, **options)
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite settings; we send BEGIN ourselves (see `_sqlite_begin`)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode = WAL",  # readers never block the writer
        "synchronous = NORMAL",  # durable at checkpoints; safe with WAL
        "busy_timeout = 30000",  # wait up to 30 s for another writer
        "foreign_keys = ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front, so they queue instead of failing mid-way."""
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config() -> Config:
    """An Alembic config for the migrations shipped in this package (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _migrate(engine: Engine) -> None:
    """`alembic upgrade head` through our own connection, one process at a time."""
    config = alembic_config()
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": _PG_MIGRATION_LOCK},
                    )
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        raise StoreError(
            f"could not open the store at {engine.url.render_as_string(hide_password=True)}"
            f": {_reason(exc)}"
        ) from exc


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message: no SQL parameters, no payloads."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _json_dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _json_default(value: object) -> object:
    """Reports may hold dates and sets; they are stored as ISO strings and lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    msg = f"cannot store a {type(value).__name__} as JSON"
    raise TypeError(msg)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"naive datetime {value.isoformat()}: the store takes aware datetimes")
    return value.astimezone(UTC)


def _check(value: str, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise StoreError(f"unknown {what} {value!r}; expected one of {', '.join(sorted(allowed))}")


class _NotAllSentError(Exception):
    """Internal: some outcomes of a batch matched no 'sent' step."""


def _execute_per_key(conn: Connection, stmt: sa.Executable, keys: Iterable[str]) -> None:
    """Run `stmt` once per distinct key (`b_key`), batched with executemany.

    Each statement is a primary-key equality, so its plan stays an index lookup even
    before PostgreSQL has statistics on a freshly filled table; long `IN (...)` lists
    then degrade to scanning the whole account per chunk.
    """
    for batch in _chunks([{"b_key": key} for key in sorted(set(keys))], _CHUNK):
        conn.execute(stmt, batch)


def _chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
