"""Reports as people read them (rich tables), and progress bars for long runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rollbridge.report import RunReport
from rollbridge.sources.base import CheckResult

MAX_LISTED = 15


def render_report(report: RunReport, console: Console) -> None:
    """Print a run report: summary, per-account actions, problems."""
    colour = {
        "ok": "green",
        "partial": "yellow",
        "held": "yellow",
        "failed": "red",
        "planned": "cyan",
    }
    title = f"{report.direction.upper()} run"
    if report.run_id is not None:
        title += f" #{report.run_id}"
    console.print(
        f"[bold]{title}[/bold] for tenant [bold]{report.tenant}[/bold]: "
        f"[{colour[report.status]}]{report.status}[/{colour[report.status]}]"
    )
    if report.source_counts:
        counts = ", ".join(f"{n} {kind}s" for kind, n in report.source_counts.items() if n)
        complete = "complete" if report.read_complete else "INCOMPLETE (nothing will be removed)"
        console.print(f"  read: {counts or 'nothing'} — {complete}")
        if report.sessions_reused:
            console.print(
                f"  {report.sessions_reused} sessions unchanged since the last run in sync "
                "(not rebuilt)"
            )
    for account in report.accounts:
        _render_account(report, account, console)
    for warning in report.warnings:
        console.print(f"  [yellow]warning[/yellow]: {warning}")
    if report.rejected:
        console.print(f"  [yellow]{len(report.rejected)} source record(s) skipped[/yellow]:")
        for problem in report.rejected[:MAX_LISTED]:
            label = f" ({problem.label})" if problem.label else ""
            console.print(f"    - {problem.kind} {problem.key}{label}: {problem.reason}")
        if len(report.rejected) > MAX_LISTED:
            console.print(f"    … and {len(report.rejected) - MAX_LISTED} more (use --json)")
    if report.status == "held":
        console.print(
            f"  [yellow bold]held for approval[/yellow bold] — plan {report.held_plan_id}"
        )
        for reason in report.held_reasons:
            console.print(f"    - {reason}")
        console.print(
            f"  review it, then `rollbridge approve {report.held_plan_id}` "
            f"or `rollbridge reject {report.held_plan_id}`"
        )
    if report.error:
        console.print(f"  [red]error[/red]: {report.error}")


def _render_account(report: RunReport, account: object, console: Console) -> None:
    from rollbridge.report import AccountReport

    assert isinstance(account, AccountReport)
    table = Table(title=f"account {account.account}", title_justify="left", show_edge=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    if report.direction == "down":
        source = account.planned if report.status in ("planned", "held") else dict(account.applied)
        for name, count in sorted(source.items()):
            table.add_row(name, str(count))
        table.add_row("unchanged", str(account.unchanged))
        if account.kept_absent:
            table.add_row("missing from read, kept", str(account.kept_absent))
        if account.deferred:
            table.add_row("changes deferred (read incomplete)", str(account.deferred))
        if account.adopted:
            table.add_row("adopted (already in Edusign by e-mail)", str(account.adopted))
        if account.healed:
            table.add_row("healed after an interrupted run", str(account.healed))
    else:
        table.add_row("marks read (final sheets)", str(account.marks_read))
        for status, count in sorted(account.marks_by_status.items()):
            table.add_row(f"  {status}", str(count))
        table.add_row("sheets not final yet", str(account.sheets_pending))
        table.add_row("marks changed", str(account.marks_changed))
        table.add_row("marks written back", str(account.marks_written))
    table.add_row("Edusign requests / writes", f"{account.requests} / {account.writes}")
    console.print(table)
    for title, problems in (
        ("conflict(s) for a person to look at", account.conflicts),
        ("failure(s)", account.failures),
        ("not written back", account.not_written),
    ):
        if not problems:
            continue
        console.print(f"  [yellow]{len(problems)} {title}[/yellow]:")
        for problem in problems[:MAX_LISTED]:
            label = f" ({problem.label})" if problem.label else ""
            console.print(f"    - {problem.kind} {problem.key}{label}: {problem.reason}")
        if len(problems) > MAX_LISTED:
            console.print(f"    … and {len(problems) - MAX_LISTED} more (use --json)")


def render_checks(results: list[CheckResult], console: Console) -> None:
    """Print `check` results, one line each."""
    marks = {
        "ok": "[green]ok     [/green]",
        "warning": "[yellow]warning[/yellow]",
        "error": "[red]error  [/red]",
    }
    for result in results:
        console.print(f"  {marks[result.status]} {result.name}: {result.detail}")


@contextmanager
def progress_bar(console: Console, *, enabled: bool) -> Iterator[object]:
    """A progress callback `(stage, done, total)` drawing rich bars, or a no-op."""
    if not enabled:
        yield lambda stage, done, total: None
        return
    bars = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

    with bars:
        yield update
