"""Sync down: read → shape → route → plan → apply, one account after the other."""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rollbridge.config import TenantConfig
from rollbridge.errors import AuthError, HeldForApproval, RollbridgeError
from rollbridge.gcpause import gc_paused
from rollbridge.identity import Link
from rollbridge.model import Rejected, Snapshot, Window
from rollbridge.plan import (
    AccountPlan,
    PlanInputs,
    courses_to_inspect,
    judge_deletions,
    plan_account,
    protect_signed,
)
from rollbridge.report import AccountReport, Problem, RunReport
from rollbridge.routing import overlaps, route
from rollbridge.shaping import AccountDesired, ShapeContext, shape_account

from .apply import Applier
from .batches import AccountOutcome, Expansion, config_salt, expand, settlement
from .context import RunContext
from .ports import EdusignPort
from .runs import recorded_run


@dataclass(slots=True)
class _AccountWork:
    account: str
    links: dict[str, Link]
    plan: AccountPlan
    make_client: Callable[[], EdusignPort]
    report: AccountReport
    reused_links: int = 0  # course links of reused batches: not loaded, unchanged
    wanted_courses: frozenset[str] = frozenset()
    shaping_rejected: tuple[Rejected, ...] = ()
    _client: EdusignPort | None = None

    def client(self) -> EdusignPort:
        """The account's client, built on first use: a no-change run needs none."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def close(self) -> None:
        """Record the client's request counts and close it, if it was ever built."""
        if self._client is None:
            return
        stats = getattr(self._client, "stats", None)
        if stats is not None:
            self.report.requests = int(getattr(stats, "requests", 0))
            self.report.writes = int(getattr(stats, "writes", 0))
        self._client.close()


def sync_window(config: TenantConfig, now: datetime) -> Window:
    """Today − days_back .. end of the school year, clipped to the school year."""
    year = config.school_year
    start = max(year.start, (now - timedelta(days=config.sync.days_back)).date())
    return Window(start_on=start, end_on=year.end)


def is_signed(course: dict[str, Any]) -> bool:
    """Whether an Edusign course has any signature, or is locked."""
    if str(course.get("LOCKED", "0")) not in ("0", "", "False", "false", "None"):
        return True
    for name, value in course.items():
        if name.startswith("PROFESSOR_SIGNATURE") and value:
            return True
    entries = course.get("STUDENTS")
    if isinstance(entries, list):
        return any(isinstance(e, dict) and e.get("state") is True for e in entries)
    return False


def sync_down(ctx: RunContext, *, dry_run: bool = False) -> RunReport:
    """One down run for the tenant; returns the report (status held/failed included)."""
    config = ctx.config
    now = ctx.clock()
    report = RunReport(tenant=config.tenant, direction="down", started_at=now)
    if dry_run:
        report.status = "planned"
        _plan_and_apply(ctx, report, now, dry_run=True)
        report.finished_at = ctx.clock()
        return report
    with recorded_run(ctx, report):
        _plan_and_apply(ctx, report, now, dry_run=False)
    return report


class _ReuseViolated(Exception):
    """A session to create already has a link, in a batch this run reused: the source's
    batches were not disjoint or its fingerprint missed a change. The run plans again
    with every batch built."""


def _read(ctx: RunContext, report: RunReport, window: Window, *, rebuild_all: bool) -> Expansion:
    """The source's read, its changed session batches built (`engine/batches.py`)."""
    expansion = _expand(ctx, ctx.source.read(window, ctx.progress), rebuild_all=rebuild_all)
    snapshot = expansion.snapshot
    report.add_rejected(snapshot.rejected)
    report.add_rejected(expansion.reused_rejected())
    if snapshot.is_empty and not expansion.reused and snapshot.complete:
        # An empty read is far likelier a broken export than a school with nobody left.
        report.warnings.append("the source returned no records; nothing will be removed")
        snapshot = Snapshot(rejected=snapshot.rejected, complete=False, window=snapshot.window)
        expansion = Expansion(snapshot)
    report.read_complete = snapshot.complete
    if not snapshot.complete:
        report.warnings.append("the read was incomplete: no object will be removed this run")
    report.source_counts = snapshot.counts()
    report.source_counts["session"] += expansion.reused_sessions
    report.sessions_reused = expansion.reused_sessions
    return expansion


def _plan_and_apply(ctx: RunContext, report: RunReport, now: datetime, *, dry_run: bool) -> None:
    window = sync_window(ctx.config, now)
    works: list[_AccountWork] = []
    try:
        # Planning fills `works` and returns: the snapshot and the desired state are freed
        # before the writes start, which keeps a large school's peak memory down.
        try:
            expansion = _plan_accounts(
                ctx, report, now, window, works, dry_run=dry_run, rebuild_all=ctx.rebuild_all
            )
        except _ReuseViolated as exc:
            # Rare, and only after a source broke its promise: read and plan again from
            # scratch. Reading again, rather than keeping the first read's batches for this
            # case, keeps their raw answers out of memory while every account is planned.
            for work in works:
                work.close()
            works.clear()
            _restart(report, warning=str(exc))
            expansion = _plan_accounts(
                ctx, report, now, window, works, dry_run=dry_run, rebuild_all=True
            )
        _guard(ctx, report, works, now, dry_run=dry_run)
        if dry_run:
            return
        # Unsettle what this run rebuilds before writing: a run stopped half-way must not
        # leave a batch settled on a fingerprint its links no longer match.
        if any(not work.plan.is_empty for work in works):
            ctx.store.forget_batches(ctx.config.tenant, expansion.built.keys())
        for work in works:
            _apply(ctx, report, work, window)
        _mark_approved_applied(ctx, works, now)
        report.status = "partial" if report.failures else "ok"
        _settle_batches(ctx, report, works, expansion)
    finally:
        for work in works:
            work.close()


def _restart(report: RunReport, *, warning: str) -> None:
    """Forget what planning put in `report` (a run that plans a second time), keeping the
    run's identity, and say why."""
    fresh = RunReport(
        tenant=report.tenant,
        direction=report.direction,
        started_at=report.started_at,
        run_id=report.run_id,
        warnings=[warning],
    )
    for name in RunReport.__slots__:
        setattr(report, name, getattr(fresh, name))


def _expand(ctx: RunContext, snapshot: Snapshot, *, rebuild_all: bool) -> Expansion:
    """Build the snapshot's changed session batches; reuse the settled ones."""
    if not snapshot.batches:
        return Expansion(snapshot)
    tenant = ctx.config.tenant
    return expand(
        snapshot,
        salt=config_salt(ctx.config, ctx.source.system),
        settled={} if rebuild_all else ctx.store.settled_batches(tenant),
        link_counts={} if rebuild_all else ctx.store.batch_link_counts(tenant),
        rebuild_all=rebuild_all,
    )


def _settle_batches(
    ctx: RunContext, report: RunReport, works: list[_AccountWork], expansion: Expansion
) -> None:
    """Record the batches this run brought wholly in sync (complete read, no failure)."""
    if not expansion.fingerprints or not report.read_complete or report.failures:
        return
    outcome = settlement(
        expansion,
        (
            AccountOutcome(
                work.account,
                work.wanted_courses,
                frozenset(c.key for c in work.plan.conflicts),
                work.shaping_rejected,
            )
            for work in works
        ),
    )
    ctx.store.settle_batches(
        ctx.config.tenant,
        outcome.settled,
        outcome.link_batches,
        rebuilt=expansion.built.keys(),
        keep=expansion.fingerprints.keys(),
    )


def _plan_accounts(
    ctx: RunContext,
    report: RunReport,
    now: datetime,
    window: Window,
    works: list[_AccountWork],
    *,
    dry_run: bool,
    rebuild_all: bool,
) -> Expansion:
    """Read, route, shape and plan every account; append one work item per account."""
    config = ctx.config
    with gc_paused():  # the read and the shaping allocate hundreds of thousands of objects
        expansion = _read(ctx, report, window, rebuild_all=rebuild_all)
        snapshot = expansion.snapshot
        routed = route(snapshot, config.accounts)
    for overlap in overlaps(routed)[:20]:
        report.warnings.append(
            f"{overlap.kind} {overlap.source_id} ({overlap.label}) lands in accounts "
            f"{', '.join(overlap.accounts)}"
        )
    inputs = PlanInputs(
        now=now,
        read_complete=snapshot.complete,
        window=window,
        deleted_keys=frozenset(f"{kind}:{source_id}" for kind, source_id in snapshot.deleted),
        key_space=snapshot.key_space,
    )
    for account in config.accounts:
        shape_ctx = ShapeContext(
            tenant=config.tenant,
            system=ctx.source.system,
            account=account.name,
            api_type=config.effective_api_type,
            options=config.options,
        )
        with gc_paused():
            desired = shape_account(routed.get(account.name, Snapshot()), shape_ctx)
        report.add_rejected(desired.rejected)
        account_report = AccountReport(account=account.name)
        report.accounts.append(account_report)
        links = ctx.store.load_links(config.tenant, account.name, skip_batches=expansion.reused)
        work = _AccountWork(
            account.name,
            links,
            AccountPlan(account.name),
            functools.partial(ctx.client_for, account),
            account_report,
            reused_links=expansion.reused_links(account.name),
            wanted_courses=frozenset(desired.objects.get("course", {})),
            shaping_rejected=desired.rejected,
        )
        works.append(work)
        if not dry_run:
            _settle_sent(ctx, work.client, account.name, links, desired, account_report)
        plan = plan_account(desired, links, inputs)
        if expansion.reused:
            _check_reuse(ctx, account.name, plan)
        plan = _protect_signed(work.client, plan)
        work.plan = plan
        account_report.planned = plan.counts()
        account_report.unchanged = plan.unchanged + work.reused_links
        account_report.kept_absent = plan.kept_absent
        account_report.deferred = plan.deferred
        account_report.conflicts = [
            Problem(c.kind, c.key, c.reason, c.label) for c in plan.conflicts
        ]
    # The records are not needed past planning: dropping them before the writes start
    # keeps a large school's peak memory down (settling needs only the batch bookkeeping).
    return dataclasses.replace(expansion, snapshot=Snapshot())


def _check_reuse(ctx: RunContext, account: str, plan: AccountPlan) -> None:
    """No course to create may already be linked (its link left unloaded with a reused
    batch): that would be a duplicate in Edusign."""
    creates = [s.key for s in plan.steps if s.action == "create" and s.kind == "course"]
    if not creates:
        return
    linked = ctx.store.linked_keys(ctx.config.tenant, account, creates)
    if linked:
        raise _ReuseViolated(
            f"{len(linked)} session(s) to create were already linked (e.g. {min(linked)}): "
            "the source's batches overlapped, so this run rebuilt every batch"
        )


def _settle_sent(
    ctx: RunContext,
    client: Callable[[], EdusignPort],
    account: str,
    links: dict[str, Link],
    desired: AccountDesired,
    account_report: AccountReport,
) -> None:
    """Creates journalled as sent but never recorded: find them by API_ID, link them."""
    pending = ctx.store.pending_sent(ctx.config.tenant, account)
    if not pending:
        return
    healed: list[Link] = []
    for entry in pending:
        if entry.key in links:
            continue
        found = client().get_id(entry.kind, entry.api_id)
        if not found:
            continue
        want = desired.objects.get(entry.kind, {}).get(entry.key)
        link = Link(
            key=entry.key,
            kind=entry.kind,
            api_id=entry.api_id,
            edusign_id=found,
            content_hash=entry.content_hash,
            start_at=want.start_at if want else None,
            end_at=want.end_at if want else None,
        )
        links[entry.key] = link
        healed.append(link)
    if healed:
        ctx.store.upsert_links(ctx.config.tenant, account, healed)
    ctx.store.settle_sent(ctx.config.tenant, account, [e.key for e in pending])
    account_report.healed += len(healed)


def _protect_signed(client: Callable[[], EdusignPort], plan: AccountPlan) -> AccountPlan:
    signed: set[str] = set()
    for step in courses_to_inspect(plan):
        assert step.link is not None
        course = client().get_course(step.link.edusign_id)
        if course is not None and is_signed(course):
            signed.add(step.key)
    return protect_signed(plan, signed)


def _guard(
    ctx: RunContext, report: RunReport, works: list[_AccountWork], now: datetime, *, dry_run: bool
) -> None:
    _, approved = ctx.store.approved_cancels(ctx.config.tenant, "down")
    counts: dict[str, Counter[str]] = {
        w.account: Counter[str](link.kind for link in w.links.values()) for w in works
    }
    for w in works:
        counts[w.account]["course"] += w.reused_links
    verdict = judge_deletions([w.plan for w in works], counts, ctx.config.guard, approved)
    if verdict.allowed:
        return
    report.held_reasons = list(verdict.reasons)
    if dry_run:
        report.warnings.extend(f"would be held: {reason}" for reason in verdict.reasons)
        return
    cancels = {w.account: [s.key for s in w.plan.cancels()] for w in works if w.plan.cancels()}
    for plan in ctx.store.held_plans(ctx.config.tenant, "held"):
        ctx.store.resolve_plan(plan.id, "superseded", at=now, by="rollbridge")
    plan_id = ctx.store.hold_plan(
        ctx.config.tenant,
        "down",
        summary={
            "reasons": list(verdict.reasons),
            "planned": {w.account: w.plan.counts() for w in works},
        },
        cancels=cancels,
        at=now,
    )
    raise HeldForApproval(
        "this run would remove more than the deletion guard allows; nothing was applied",
        plan_id=plan_id,
        tenant=ctx.config.tenant,
    )


def _apply(ctx: RunContext, report: RunReport, work: _AccountWork, window: Window) -> None:
    if work.plan.is_empty:
        return
    account = ctx.config.account(work.account)
    assert report.run_id is not None
    applier = Applier(
        client=work.client(),
        store=ctx.store,
        tenant=ctx.config.tenant,
        account=work.account,
        run_id=report.run_id,
        links=work.links,
        report=work.report,
        max_workers=account.max_concurrency,
        course_window=(window.start_on, window.end_on),
        hooks=ctx.hooks,
        progress=ctx.progress,
        send_credentials=ctx.config.options.send_credentials,
    )
    try:
        applier.apply(work.plan)
    except AuthError:
        raise
    except RollbridgeError as exc:
        report.error = str(exc)
        raise


def _mark_approved_applied(ctx: RunContext, works: list[_AccountWork], now: datetime) -> None:
    approved_id, _ = ctx.store.approved_cancels(ctx.config.tenant, "down")
    if approved_id is not None:
        ctx.store.resolve_plan(approved_id, "applied", at=now, by="rollbridge")
