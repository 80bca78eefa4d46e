"""Apply one account's plan to Edusign, recording each write as it succeeds.

- Creates are journalled as `sent` (in batches, before they go out) and settled by
  `API_ID` lookup on the next run, so a crash between "Edusign created it" and "we
  recorded it" heals instead of duplicating (DESIGN promise 1).
- Before creating, we look the object up: by `API_ID`, then (people) by e-mail, adopting
  a person already in Edusign instead of duplicating them.
- Writes run on a bounded thread pool; the client enforces the account's rate limit.
- One failed write is a failure in the report; the run goes on. Credentials refused, or
  Edusign failing again and again, stop the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from rollbridge.errors import AuthError, BusinessError, RollbridgeError, TargetError, Transient
from rollbridge.identity import EdusignKind, Link
from rollbridge.plan import AccountPlan, Step
from rollbridge.report import AccountReport, Problem, bump
from rollbridge.shaping import SCALAR_REFS, Desired
from rollbridge.store import JournalEntry, StepOutcome, Store
from rollbridge.targets.edusign_objects import id_of, is_archived

from .ports import EdusignPort, EmailKind

FLUSH_EVERY = 256
INDEX_THRESHOLD = 20  # above this many creates of a kind, list once instead of one lookup each
MAX_CONSECUTIVE_TRANSIENT = 25

Progress = Callable[[str, int, int | None], None]


class ApplyHooks(Protocol):
    """Test seam: called in the main thread after a write returned, before it is recorded."""

    def after_write(self, step: Step, edusign_id: str | None) -> None: ...


class NoHooks:
    """Production hooks: nothing."""

    def after_write(self, step: Step, edusign_id: str | None) -> None:
        """Do nothing."""


@dataclass(slots=True)
class _Index:
    """Existing objects of one kind in the account, by API_ID and by e-mail."""

    by_api_id: dict[str, str] = field(default_factory=dict)
    by_email: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Result:
    step: Step
    edusign_id: str | None = None
    error: RollbridgeError | None = None
    adopted: bool = False
    healed: bool = False
    partial: bool = False


def _object_id(obj: dict[str, Any]) -> str:
    return id_of(obj) or ""


class Applier:
    """Applies one account's plan with one client, recording into the store."""

    def __init__(
        self,
        *,
        client: EdusignPort,
        store: Store,
        tenant: str,
        account: str,
        run_id: int,
        links: dict[str, Link],
        report: AccountReport,
        max_workers: int,
        course_window: tuple[date, date],
        hooks: ApplyHooks | None = None,
        progress: Progress | None = None,
        send_credentials: bool = False,
    ) -> None:
        self.client = client
        self.store = store
        self.tenant = tenant
        self.account = account
        self.run_id = run_id
        self.links = links
        self.ids: dict[str, str] = {key: link.edusign_id for key, link in links.items()}
        self.report = report
        self.max_workers = max_workers
        self.course_window = course_window
        self.hooks = hooks or NoHooks()
        self.progress = progress
        self.send_credentials = send_credentials
        self._indexes: dict[EdusignKind, _Index] = {}
        self._pending_links: list[Link] = []
        self._pending_deletes: list[str] = []
        self._pending_outcomes: list[StepOutcome] = []
        self._consecutive_transient = 0

    # ----------------------------------------------------------------- driving

    def apply(self, plan: AccountPlan) -> None:
        """Run every step of `plan` in order, kind by kind."""
        total = len(plan.steps)
        done = 0
        for batch in plan.ordered():
            creates = [s for s in batch if s.action == "create"]
            if len(creates) > INDEX_THRESHOLD:
                self._indexes[creates[0].kind] = self._build_index(creates[0].kind)
            for result in self._run_batch(batch):
                self._record(result)
                done += 1
                if self.progress is not None:
                    self.progress(f"apply {self.account}", done, total)
            self._flush()
        self._flush()

    def _run_batch(self, batch: Sequence[Step]) -> Iterator[_Result]:
        """Run one kind's steps on the pool, creates journalled a chunk ahead of sending."""
        journalled = 0
        in_flight: set[Future[_Result]] = set()
        limit = self.max_workers * 2
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="apply") as pool:
            for index, step in enumerate(batch):
                if step.action == "create" and index >= journalled:
                    chunk = [s for s in batch[index : index + FLUSH_EVERY] if s.action == "create"]
                    self._journal(chunk)
                    journalled = index + FLUSH_EVERY
                in_flight.add(pool.submit(self._execute, step))
                if len(in_flight) >= limit:
                    finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in finished)
            while in_flight:
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in finished)

    def _journal(self, steps: Sequence[Step]) -> None:
        if not steps:
            return
        self.store.journal_sent(
            self.run_id,
            self.tenant,
            self.account,
            [
                JournalEntry(
                    key=s.key,
                    kind=s.kind,
                    action=s.action,
                    api_id=s.api_id,
                    content_hash=s.desired.content_hash if s.desired else "",
                )
                for s in steps
            ],
        )

    # ------------------------------------------------------------- recording

    def _record(self, result: _Result) -> None:
        step = result.step
        if result.error is not None:
            self._on_error(result)
            return
        self._consecutive_transient = 0
        self.hooks.after_write(step, result.edusign_id)
        bump(self.report.applied, f"{step.action} {step.kind}")
        self.report.adopted += int(result.adopted)
        self.report.healed += int(result.healed)
        if step.action == "cancel":
            self._pending_deletes.append(step.key)
            self.ids.pop(step.key, None)
        else:
            assert step.desired is not None and result.edusign_id is not None
            want = step.desired
            # Unresolved references (a learner whose create failed) are retried next run.
            content = f"partial:{want.content_hash}" if result.partial else want.content_hash
            link = Link(
                key=step.key,
                kind=step.kind,
                api_id=want.api_id,
                edusign_id=result.edusign_id,
                content_hash=content,
                start_at=want.start_at,
                end_at=want.end_at,
            )
            self.ids[step.key] = result.edusign_id
            self.links[step.key] = link
            self._pending_links.append(link)
            if step.action == "create":
                self._pending_outcomes.append(
                    StepOutcome(step.key, "done", result.edusign_id, None)
                )
        if len(self._pending_links) + len(self._pending_deletes) >= FLUSH_EVERY:
            self._flush()

    def _on_error(self, result: _Result) -> None:
        error = result.error
        assert error is not None
        step = result.step
        if isinstance(error, AuthError):
            self._flush()
            raise error
        if isinstance(error, Transient):
            self._consecutive_transient += 1
            if self._consecutive_transient >= MAX_CONSECUTIVE_TRANSIENT:
                self._flush()
                raise TargetError(
                    f"Edusign failed {MAX_CONSECUTIVE_TRANSIENT} writes in a row; stopping "
                    "this run (nothing is lost: the next run resumes)",
                    account=self.account,
                )
        label = step.desired.display if step.desired else ""
        self.report.failures.append(
            Problem(step.kind, step.key, f"{step.action} failed: {error.message}", label)
        )
        if step.action == "create":
            self._pending_outcomes.append(
                StepOutcome(step.key, "failed", None, error.message[:500])
            )

    def _flush(self) -> None:
        if self._pending_links:
            self.store.upsert_links(self.tenant, self.account, self._pending_links)
            self._pending_links = []
        if self._pending_deletes:
            self.store.delete_links(self.tenant, self.account, self._pending_deletes)
            self._pending_deletes = []
        if self._pending_outcomes:
            self.store.journal_finish(self.run_id, self.account, self._pending_outcomes)
            self._pending_outcomes = []

    # ------------------------------------------------------------- execution

    def _execute(self, step: Step) -> _Result:
        """Runs in a worker thread: one step, errors returned as data."""
        try:
            if step.action == "cancel":
                return self._cancel(step)
            fields, partial = self._resolve(step.desired)  # type: ignore[arg-type]
            if step.action == "update":
                assert step.link is not None
                self._update(step.kind, step.link.edusign_id, fields)
                return _Result(step, step.link.edusign_id, partial=partial)
            return self._create(step, fields, partial)
        except RollbridgeError as exc:
            return _Result(step, error=exc)

    def _resolve(self, desired: Desired) -> tuple[dict[str, Any], bool]:
        fields: dict[str, Any] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in desired.fields
        }
        partial = False
        for name, keys in desired.refs:
            ids = [self.ids[k] for k in keys if k in self.ids]
            partial = partial or len(ids) != len(keys)
            if name in SCALAR_REFS:
                if ids:
                    fields[name] = ids[0]
            else:
                fields[name] = ids
        return fields, partial

    def _create(self, step: Step, fields: dict[str, Any], partial: bool) -> _Result:
        desired = step.desired
        assert desired is not None
        existing, adopted, archived = self._lookup(step.kind, desired)
        if existing is not None:
            if archived and step.kind == "student":
                self.client.restore_student(existing)
            self._update(step.kind, existing, fields)
            return _Result(step, existing, adopted=adopted, healed=not adopted, partial=partial)
        try:
            if step.kind == "student":
                new_id = self.client.create_student(fields, send_credentials=self.send_credentials)
            elif step.kind == "professor":
                new_id = self.client.create_professor(
                    fields, send_credentials=self.send_credentials
                )
            elif step.kind == "group":
                new_id = self.client.create_group(fields)
            elif step.kind == "external":
                new_id = self.client.create_external(fields)
            else:
                new_id = self.client.create_course(fields)
        except BusinessError as exc:
            # Someone created the same person meanwhile (§2 known messages): adopt them.
            if desired.email and "already exists" in exc.message.lower():
                found = self.client.find_by_email(_email_kind(step.kind), desired.email)
                if found is not None:
                    self._update(step.kind, _object_id(found), fields)
                    return _Result(step, _object_id(found), adopted=True, partial=partial)
            raise
        return _Result(step, new_id, partial=partial)

    def _lookup(self, kind: EdusignKind, desired: Desired) -> tuple[str | None, bool, bool]:
        """(existing id, adopted by e-mail, archived) — look-up before create."""
        index = self._indexes.get(kind)
        if index is not None:
            found_id = index.by_api_id.get(desired.api_id)
            if found_id:
                return found_id, False, False
            if desired.email and kind in ("student", "professor", "external"):
                obj = index.by_email.get(desired.email.lower())
                if obj is not None:
                    return _object_id(obj), True, is_archived(obj)
            return None, False, False
        found_id = self.client.get_id(kind, desired.api_id)
        if found_id:
            return found_id, False, False
        if desired.email and kind in ("student", "professor", "external"):
            obj = self.client.find_by_email(_email_kind(kind), desired.email)
            if obj is not None and _object_id(obj):
                return _object_id(obj), True, is_archived(obj)
        return None, False, False

    def _build_index(self, kind: EdusignKind) -> _Index:
        listing: Iterator[dict[str, Any]]
        if kind == "student":
            listing = self.client.list_students()
        elif kind == "professor":
            listing = self.client.list_professors()
        elif kind == "group":
            listing = self.client.list_groups()
        elif kind == "external":
            listing = self.client.list_externals()
        else:
            start, end = self.course_window
            listing = self.client.list_courses(start - timedelta(days=1), end + timedelta(days=1))
        index = _Index()
        for obj in listing:
            object_id = _object_id(obj)
            if not object_id:
                continue
            api = obj.get("API_ID")
            if api:
                index.by_api_id.setdefault(str(api), object_id)
            email = obj.get("EMAIL")
            if isinstance(email, str) and email:
                index.by_email.setdefault(email.strip().lower(), obj)
        return index

    def _update(self, kind: EdusignKind, edusign_id: str, fields: dict[str, Any]) -> None:
        updater = {
            "student": self.client.update_student,
            "professor": self.client.update_professor,
            "group": self.client.update_group,
            "external": self.client.update_external,
            "course": self.client.update_course,
        }[kind]
        updater(edusign_id, fields)

    def _cancel(self, step: Step) -> _Result:
        assert step.link is not None
        edusign_id = step.link.edusign_id
        if step.kind == "course":
            self.client.delete_course(edusign_id)
        elif step.kind == "student":
            self.client.archive_student(edusign_id)
        elif step.kind == "professor":
            self.client.archive_professor(edusign_id)
        elif step.kind == "group":
            self.client.delete_group(edusign_id)
        return _Result(step, edusign_id)


def _email_kind(kind: EdusignKind) -> EmailKind:
    if kind in ("student", "professor", "external"):
        return kind
    raise ValueError(f"{kind} objects have no e-mail")
