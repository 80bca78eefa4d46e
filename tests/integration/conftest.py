"""Fixtures for the Hyperplanning scenarios: one HPSW emulator per test session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.sandbox.hyperplanning.server import HyperplanningSandbox
from rollbridge.store import Store

from .hp_harness import KEY_A, WRONG_HOST, HpHarness


@pytest.fixture(scope="session")
def hp_server() -> Iterator[HyperplanningSandbox]:
    """The small synthetic school served over SOAP; its WSDL names an internal host."""
    with HyperplanningSandbox.start_in_thread(
        seed=7, size="small", year_start=date(2026, 9, 1), soap_address=WRONG_HOST
    ) as sandbox:
        yield sandbox


@pytest.fixture
def hp(hp_server: HyperplanningSandbox) -> HyperplanningSandbox:
    """The emulator back to base 1, no marks, no edits, no faults."""
    hp_server.reset()
    return hp_server


@pytest.fixture
def h(
    tmp_path: Path, hp: HyperplanningSandbox, edusign: EdusignSandbox, store: Store, tenant: str
) -> HpHarness:
    """A Hyperplanning tenant with one Edusign account."""
    edusign.add_school(KEY_A)
    edusign.set_rate_limit(600_000)
    return HpHarness(hp, edusign, store, tenant, tmp_path / "state")
