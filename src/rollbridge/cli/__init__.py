"""The `rollbridge` command line (typer + rich).

Exit codes: 0 ok (also a run with skipped records or conflicts, which the report lists),
1 error (configuration, credentials, Edusign or source failure), 2 usage error,
3 held for approval (a deletion-heavy plan waits for `rollbridge approve`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from rollbridge.errors import ConfigError, RollbridgeError

from .render import progress_bar, render_checks, render_report

app = typer.Typer(
    name="rollbridge",
    help="Keep a school's planning system and Edusign in step, both ways.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sync_app = typer.Typer(help="Run a sync now.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="ROLLBRIDGE_CONFIG", help="Tenant configuration (TOML)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON report for scripts.")]
LogOption = Annotated[
    str,
    typer.Option("--log-level", envvar="ROLLBRIDGE_LOG_LEVEL", help="debug, info, warning, error."),
]
DEFAULT_CONFIG = Path("rollbridge.toml")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error[/red]: {message}", highlight=False)
    return typer.Exit(code)


def _guarded(action: Callable[[], int]) -> None:
    """Run a command body; our errors become a clear message and exit code 1."""
    try:
        code = action()
    except RollbridgeError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code)


def _setup_logging(level: str) -> None:
    from rollbridge.logging import configure_logging

    configure_logging(level)


def _emit(report: Any, as_json: bool) -> int:
    if as_json:
        out.print_json(json.dumps(report.to_dict(), default=str))
    else:
        render_report(report, out)
    return int(report.exit_code())


@app.command()
def init(
    config: ConfigOption = DEFAULT_CONFIG,
    tenant: Annotated[str, typer.Option(help="Tenant name (lowercase).")] = "my-school",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented configuration and create the secret key file."""

    def run() -> int:
        from rollbridge.bootstrap import paths_for, secret_key

        from .template import config_template

        if config.exists() and not force:
            raise ConfigError(f"{config} already exists (use --force to overwrite)")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(config_template(tenant), encoding="utf-8")
        paths = paths_for(config)
        secret_key(paths)
        out.print(f"wrote {config}; secret key in {paths.key_file} (keep it, back it up)")
        out.print("next: edit the file, then `rollbridge check -c " + str(config) + "`")
        return 0

    _guarded(run)


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    read: Annotated[bool, typer.Option(help="Also read the source to find overlaps.")] = True,
    log_level: LogOption = "warning",
) -> None:
    """Validate the configuration, test connections and warn about routing overlaps."""
    _setup_logging(log_level)

    def run() -> int:
        from rollbridge.checks import run_checks

        results = run_checks(config, read_source=read)
        render_checks(results, out)
        return 1 if any(r.status == "error" for r in results) else 0

    _guarded(run)


@app.command()
def plan(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
    log_level: LogOption = "warning",
) -> None:
    """Show what a down sync would do; nothing is written."""
    _setup_logging(log_level)

    def run() -> int:
        from rollbridge.bootstrap import build_context, load, open_store
        from rollbridge.engine import sync_down

        cfg, paths = load(config)
        store = open_store(paths)
        try:
            report = sync_down(build_context(cfg, store), dry_run=True)
        finally:
            store.close()
        return _emit(report, as_json)

    _guarded(run)


def _sync(
    direction: str, config: Path, as_json: bool, log_level: str, *, full: bool = False
) -> None:
    _setup_logging(log_level)

    def run() -> int:
        from rollbridge.bootstrap import build_context, load, open_store
        from rollbridge.engine import sync_down, sync_up

        cfg, paths = load(config)
        store = open_store(paths)
        try:
            show = not as_json and sys.stderr.isatty()
            with progress_bar(err, enabled=show) as progress:
                ctx = build_context(cfg, store, progress=progress, full_read=full)  # type: ignore[arg-type]
                report = sync_down(ctx) if direction == "down" else sync_up(ctx)
        finally:
            store.close()
        return _emit(report, as_json)

    _guarded(run)


@sync_app.command("down")
def sync_down_command(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
    log_level: LogOption = "warning",
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read everything from the planning system again, ignoring the Hyperplanning "
            "per-entity cache (and refreshing it); slower. Without it, cached answers up to "
            "`refresh_hours` old are reused.",
        ),
    ] = False,
) -> None:
    """Planning system → Edusign: sessions, learners, instructors, groups, tutors.

    With Hyperplanning, a course's groups and individual learners, family sections,
    exemptions, tutors and room long labels are cached up to `refresh_hours` (default 24)
    and read again sooner when a course's séances change; `--full` reads them all now.
    """
    _sync("down", config, as_json, log_level, full=full)


@sync_app.command("up")
def sync_up_command(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: JsonOption = False,
    log_level: LogOption = "warning",
) -> None:
    """Edusign → planning system: attendance of ended sessions."""
    _sync("up", config, as_json, log_level)


@app.command()
def approve(
    plan_id: Annotated[str, typer.Argument(help="The held plan id shown by the held run.")],
    config: ConfigOption = DEFAULT_CONFIG,
    by: Annotated[str, typer.Option(help="Who approves (kept for audit).")] = "cli",
    run_now: Annotated[
        bool, typer.Option("--run/--no-run", help="Run the sync right away.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Approve a held plan; its removals are then applied."""

    def run() -> int:
        from rollbridge.bootstrap import build_context, load, open_store
        from rollbridge.engine import sync_down

        cfg, paths = load(config)
        store = open_store(paths)
        try:
            _resolve(store, cfg.tenant, plan_id, "approved", by)
            (err if as_json else out).print(f"plan {plan_id} approved")
            if not run_now:
                return 0
            report = sync_down(build_context(cfg, store))
        finally:
            store.close()
        return _emit(report, as_json)

    _guarded(run)


@app.command()
def reject(
    plan_id: Annotated[str, typer.Argument(help="The held plan id.")],
    config: ConfigOption = DEFAULT_CONFIG,
    by: Annotated[str, typer.Option(help="Who rejects (kept for audit).")] = "cli",
) -> None:
    """Reject a held plan; nothing of it is applied."""

    def run() -> int:
        from rollbridge.bootstrap import load, open_store

        cfg, paths = load(config)
        store = open_store(paths)
        try:
            _resolve(store, cfg.tenant, plan_id, "rejected", by)
        finally:
            store.close()
        out.print(f"plan {plan_id} rejected; the next run plans again from scratch")
        return 0

    _guarded(run)


def _resolve(store: Any, tenant: str, plan_id: str, status: str, by: str) -> None:
    held = store.get_plan(plan_id)
    if held is None or held.tenant != tenant:
        raise ConfigError(f"no held plan {plan_id!r} for tenant {tenant} (see `rollbridge status`)")
    store.resolve_plan(plan_id, status, at=datetime.now(UTC), by=by)


secret_app = typer.Typer(help="Secrets kept encrypted in the store.", no_args_is_help=True)
app.add_typer(secret_app, name="secret")


@secret_app.command("set")
def secret_set(
    name: Annotated[str, typer.Argument(help='The name used in the config: { store = "NAME" }.')],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Store a secret encrypted in the store (prompted, or one line of standard input)."""

    def run() -> int:
        from pydantic import SecretStr

        from rollbridge.bootstrap import load, open_store

        cfg, paths = load(config)
        if sys.stdin.isatty():
            value = typer.prompt(f"value of {name}", hide_input=True)
        else:
            value = sys.stdin.readline().strip()
        if not value:
            raise ConfigError("empty secret: nothing stored")
        store = open_store(paths)
        try:
            store.put_secret(cfg.tenant, name, SecretStr(value))
        finally:
            store.close()
        out.print(f'secret {name} stored encrypted; use api_key = {{ store = "{name}" }}')
        return 0

    _guarded(run)


@app.command()
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    limit: Annotated[int, typer.Option(help="How many runs to list.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """The last runs and the plans waiting for approval."""

    def run() -> int:
        from rollbridge.bootstrap import load, open_store

        cfg, paths = load(config)
        store = open_store(paths)
        try:
            runs = store.recent_runs(cfg.tenant, limit)
            held = store.held_plans(cfg.tenant, "held")
        finally:
            store.close()
        if as_json:
            out.print_json(
                json.dumps(
                    {
                        "runs": [
                            {
                                "id": r.id,
                                "direction": r.direction,
                                "status": r.status,
                                "started_at": r.started_at,
                                "finished_at": r.finished_at,
                                "writes": (r.report or {}).get("writes"),
                            }
                            for r in runs
                        ],
                        "held": [
                            {"id": h.id, "created_at": h.created_at, "summary": h.summary}
                            for h in held
                        ],
                    },
                    default=str,
                )
            )
            return 0
        table = Table(title=f"last runs of {cfg.tenant}", title_justify="left")
        for column in (
            "run",
            "direction",
            "status",
            "started (UTC)",
            "writes",
            "conflicts",
            "error",
        ):
            table.add_column(column)
        for r in runs:
            report = r.report or {}
            table.add_row(
                str(r.id),
                r.direction,
                r.status,
                r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                str(report.get("writes", "")),
                str(report.get("conflicts_total", "")),
                str(report.get("error") or "")[:60],
            )
        out.print(table)
        for h in held:
            raw = h.summary.get("reasons")
            reasons = "; ".join(str(r) for r in raw) if isinstance(raw, list) else ""
            out.print(
                f"[yellow]held plan {h.id}[/yellow] since {h.created_at:%Y-%m-%d %H:%M}: {reasons}"
            )
        if not held:
            out.print("no plan is waiting for approval")
        return 0

    _guarded(run)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Edusign emulator port on 127.0.0.1.")] = 8765,
    api_key: Annotated[list[str], typer.Option("--api-key", help="API key(s) to accept.")] = [],  # noqa: B006
) -> None:
    """Start the Edusign emulator on loopback until Ctrl-C."""
    from rollbridge.sandbox.edusign_server import main as serve

    keys = api_key or ["sandbox-key"]
    out.print(f"Edusign emulator, API keys: {', '.join(keys)}; test controls under /_sandbox/…")
    out.print("point an account's base_url at it with allow_insecure_http = true; Ctrl-C to stop")
    args = ["--port", str(port)]
    for key in keys:
        args += ["--api-key", key]
    try:
        serve(args)
    except KeyboardInterrupt:
        out.print("stopped")


@app.command()
def demo(
    size: Annotated[str, typer.Option(help="small, medium or large synthetic school.")] = "small",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic school.")] = 7,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the demo files here (default: a temporary folder).")
    ] = None,
    source: Annotated[
        Literal["files", "hyperplanning"],
        typer.Option(
            help="Planning system: files (OneRoster + sessions) or hyperplanning (emulator)."
        ),
    ] = "files",
) -> None:
    """Emulators + a synthetic school: sync down, a day of signatures, sync up, again."""
    from rollbridge.demo import run_demo

    _guarded(lambda: run_demo(out, size=size, seed=seed, workdir=workdir, source=source))


def main() -> None:
    """Console-script entry point."""
    import os

    # Logs always go to stderr, stdout is for reports; commands may raise the level.
    _setup_logging(os.environ.get("ROLLBRIDGE_LOG_LEVEL", "warning"))
    app()
