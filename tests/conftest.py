"""Shared fixtures: the Edusign emulator on loopback, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared"
PG_URL = os.environ.get("ROLLBRIDGE_TEST_DATABASE_URL", "")
DATABASES = ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.fixture(scope="session")
def edusign_server() -> Iterator[EdusignSandbox]:
    """One emulator for the whole test session, reset by `edusign`."""
    with EdusignSandbox.start_in_thread() as sandbox:
        yield sandbox


@pytest.fixture
def edusign(edusign_server: EdusignSandbox) -> EdusignSandbox:
    """A clean emulator with no faults, no latency and a generous rate limit."""
    edusign_server.reset()
    return edusign_server


@pytest.fixture(params=DATABASES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store: SQLite always, PostgreSQL too when ROLLBRIDGE_TEST_DATABASE_URL is set."""
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else PG_URL
    opened = Store.open(url, secret_key=b"fQ0Yt1o0VQ3e1cQ2cT5kq2m6u9yY3cW8d6Vb5Jg7h0E=")
    yield opened
    opened.close()


@pytest.fixture
def tenant() -> str:
    """A tenant name unique to the test, so PostgreSQL tests never see each other's rows."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def first_day() -> date:
    return date(2026, 11, 30)


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    """Warnings and above only; tests that need debug logs run the CLI with --log-level."""
    from rollbridge.logging import configure_logging

    configure_logging("warning")


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """Let debug events through for one test, then restore the quiet set-up."""
    import logging

    import structlog

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.configure(**saved)
