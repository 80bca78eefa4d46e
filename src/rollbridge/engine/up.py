"""Sync up: Edusign attendance of ended sessions → marks → the source's write-back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rollbridge.attendance import (
    CourseSheet,
    changed_marks,
    fit_to_capabilities,
    mark_hash,
    mark_payload,
    marks_from_sheets,
)
from rollbridge.identity import Link
from rollbridge.model import Mark
from rollbridge.report import AccountReport, Problem, RunReport, bump
from rollbridge.sources.base import Capability
from rollbridge.timeconv import parse_instant, utc_to_local, zone

from .context import RunContext
from .ports import EdusignPort
from .runs import recorded_run

LIST_THRESHOLD = 40  # above this many sheets, list courses by date instead of one GET each


def sync_up(ctx: RunContext) -> RunReport:
    """One up run: read final attendance, write changed marks back, report the rest."""
    config = ctx.config
    now = ctx.clock()
    report = RunReport(tenant=config.tenant, direction="up", started_at=now)
    with recorded_run(ctx, report):
        if Capability.WRITE_MARKS not in ctx.source.capabilities:
            report.warnings.append(
                f"{ctx.source.system} cannot take attendance back; marks are only reported"
            )
        for account in config.accounts:
            account_report = AccountReport(account=account.name)
            report.accounts.append(account_report)
            client = ctx.client_for(account)
            try:
                _sync_account(ctx, client, account.name, account_report, now)
            finally:
                stats = getattr(client, "stats", None)
                account_report.requests = int(getattr(stats, "requests", 0))
                account_report.writes = int(getattr(stats, "writes", 0))
                client.close()
        report.status = "partial" if any(a.not_written for a in report.accounts) else "ok"
    return report


def _ended_courses(links: dict[str, Link], now: datetime, ctx: RunContext) -> list[Link]:
    since = now - timedelta(days=ctx.config.sync.up_days_back)
    return [
        link
        for link in links.values()
        if link.kind == "course" and link.end_at is not None and since <= link.end_at <= now
    ]


def _label(course: dict[str, Any], tz: ZoneInfo) -> str:
    """ "Anglais 2026-10-19 08:30": the course's name and local start, for reports."""
    name = str(course.get("NAME") or "").strip()
    try:
        start = utc_to_local(parse_instant(str(course.get("START"))), tz)
    except ValueError:
        return name
    return f"{name} {start:%Y-%m-%d %H:%M}".strip()


def _sheets(client: EdusignPort, courses: list[Link], tz: ZoneInfo) -> list[CourseSheet]:
    by_id = {link.edusign_id: link for link in courses}
    raw: list[dict[str, Any]] = []
    if len(courses) <= LIST_THRESHOLD:
        for link in courses:
            course = client.get_course(link.edusign_id)
            if course is not None:
                raw.append(course)
    else:
        first = min(link.end_at for link in courses if link.end_at is not None)
        last = max(link.end_at for link in courses if link.end_at is not None)
        raw = [c for c in client.list_courses(first.date(), last.date()) if _cid(c) in by_id]
    sheets: list[CourseSheet] = []
    for course in raw:
        found = by_id.get(_cid(course))
        if found is None or found.end_at is None:
            continue
        entries = course.get("STUDENTS")
        sheets.append(
            CourseSheet(
                session_key=found.key,
                end_at=found.end_at,
                locked=str(course.get("LOCKED", "0")) not in ("0", "", "False", "false"),
                entries=tuple(e for e in entries if isinstance(e, dict))
                if isinstance(entries, list)
                else (),
                label=_label(course, tz),
            )
        )
    return sheets


def _cid(course: dict[str, Any]) -> str:
    return str(course.get("ID") or course.get("id") or "")


def _sync_account(
    ctx: RunContext, client: EdusignPort, account: str, report: AccountReport, now: datetime
) -> None:
    tenant = ctx.config.tenant
    links = ctx.store.load_links(tenant, account)
    learner_key_of = {
        link.edusign_id: link.key for link in links.values() if link.kind == "student"
    }
    sheets = _sheets(client, _ended_courses(links, now, ctx), zone(ctx.config.timezone))
    labels = {sheet.session_key: sheet.label for sheet in sheets}
    marks, unread, pending = marks_from_sheets(
        sheets,
        learner_key_of,
        now=now,
        grace=timedelta(minutes=ctx.config.sync.up_grace_minutes),
    )
    report.sheets_pending = pending
    report.marks_read = len(marks)
    for _, _, mark in marks:
        bump(report.marks_by_status, mark.status + (" (justified)" if mark.justified else ""))
    for item in unread:
        report.not_written.append(
            Problem(
                "mark",
                f"{item.session_key}/{item.student_id}",
                item.reason,
                labels.get(item.session_key, ""),
            )
        )
    stored = {
        key: value.content_hash for key, value in ctx.store.load_marks(tenant, account).items()
    }
    changed = changed_marks(marks, stored)
    report.marks_changed = len(changed)
    if not changed or Capability.WRITE_MARKS not in ctx.source.capabilities:
        return
    to_write: list[Mark] = []
    for session_key, learner_key, mark in changed:
        fitted, lost = fit_to_capabilities(mark, ctx.source.capabilities)
        to_write.append(fitted)
        for what in lost:
            report.not_written.append(
                Problem(
                    "mark",
                    f"{session_key}/{learner_key}",
                    f"not written: {what}",
                    labels.get(session_key, ""),
                )
            )
    results = ctx.source.write_marks(to_write)
    saved: list[tuple[str, str, str, dict[str, object]]] = []
    for (session_key, learner_key, original), result in zip(changed, results, strict=True):
        if result.written:
            # The original's hash: what we could not write is reported once, not retried.
            saved.append((session_key, learner_key, mark_hash(original), mark_payload(original)))
        else:
            report.not_written.append(
                Problem(
                    "mark",
                    f"{session_key}/{learner_key}",
                    result.reason or "refused",
                    labels.get(session_key, ""),
                )
            )
    report.marks_written = len(saved)
    if saved:
        ctx.store.save_marks(tenant, account, saved, at=now)
