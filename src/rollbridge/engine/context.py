"""Everything one run needs, passed in: config, source, store, client factory, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rollbridge.config import Account, TenantConfig
from rollbridge.sources.base import Progress, Source, no_progress
from rollbridge.store import Store

from .apply import ApplyHooks, NoHooks
from .ports import EdusignPort


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RunContext:
    """The composition of one tenant's run; built by `bootstrap`, or by tests with fakes."""

    config: TenantConfig
    source: Source
    store: Store
    client_for: Callable[[Account], EdusignPort]
    clock: Callable[[], datetime] = utc_now
    hooks: ApplyHooks = field(default_factory=NoHooks)
    progress: Progress = no_progress
    # Build every session batch, reusing none (`sync down --full`).
    rebuild_all: bool = False
