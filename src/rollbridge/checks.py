"""`rollbridge check`: configuration, connections, rights and routing overlaps."""

from __future__ import annotations

from pathlib import Path

from rollbridge.errors import RollbridgeError
from rollbridge.sources.base import CheckResult


def run_checks(config_path: Path, *, read_source: bool = True) -> list[CheckResult]:
    """Every check, in order; stops early only when the configuration itself is invalid."""
    from rollbridge.bootstrap import (
        build_source,
        client_factory,
        load,
        open_store,
        resolve_stored_secrets,
    )
    from rollbridge.engine import sync_window, utc_now
    from rollbridge.routing import overlaps, route, rule_overlaps

    results: list[CheckResult] = []
    try:
        config, paths = load(config_path)
    except RollbridgeError as exc:
        return [CheckResult("configuration", "error", str(exc))]
    results.append(
        CheckResult(
            "configuration", "ok", f"tenant {config.tenant}, {len(config.accounts)} account(s)"
        )
    )
    try:
        store = open_store(paths)
        results.append(CheckResult("store", "ok", store.url_for_display))
        try:
            config = resolve_stored_secrets(config, store)
        finally:
            store.close()
    except RollbridgeError as exc:
        results.append(CheckResult("store", "error", str(exc)))
    source = build_source(config)
    results.extend(source.check())
    make_client = client_factory(config)
    for account in config.accounts:
        client = make_client(account)
        try:
            client.school()
            results.append(
                CheckResult(
                    f"edusign {account.name}", "ok", f"{account.base_url} answers, key accepted"
                )
            )
        except RollbridgeError as exc:
            results.append(CheckResult(f"edusign {account.name}", "error", str(exc)))
        finally:
            client.close()
    for warning in rule_overlaps(config.accounts):
        results.append(CheckResult("routing", "warning", warning))
    if read_source and len(config.accounts) > 1:
        try:
            snapshot = source.read(sync_window(config, utc_now()), lambda *_: None).built()
        except RollbridgeError as exc:
            results.append(CheckResult("routing", "error", f"could not read the source: {exc}"))
        else:
            found = overlaps(route(snapshot, config.accounts))
            for item in found[:20]:
                results.append(
                    CheckResult(
                        "routing",
                        "warning",
                        f"{item.kind} {item.source_id} ({item.label}) lands in accounts "
                        f"{', '.join(item.accounts)}: it will exist once in each",
                    )
                )
            if len(found) > 20:
                results.append(
                    CheckResult("routing", "warning", f"… {len(found) - 20} more overlaps")
                )
            if not found:
                results.append(CheckResult("routing", "ok", "no record lands in two accounts"))
    return results
