"""Edusign misbehaving: rate limits, 5xx bursts, timeouts, malformed bodies. The run completes."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from rollbridge.sandbox.edusign_server import EdusignSandbox
from rollbridge.store import Store

from .harness import API_KEY, Harness
from .tiny_school import TinySchool


@pytest.fixture
def harness(
    tmp_path: Path, edusign: EdusignSandbox, store: Store, tenant: str, first_day: date
) -> Harness:
    edusign.add_school(API_KEY)
    return Harness(TinySchool.build(tmp_path / "school", first_day, days=4), edusign, store, tenant)


def assert_complete_without_duplicates(h: Harness) -> None:
    state = h.state()
    counts = Counter(
        o["API_ID"] for kind in ("students", "professors", "groups", "courses") for o in state[kind]
    )
    assert (len(state["students"]), len(state["courses"])) == (8, 8)
    assert max(counts.values()) == 1
    h.sandbox.clear_log()
    assert h.down().status == "ok"
    assert h.sandbox.writes() == 0


def test_429_with_retry_after_is_honoured(harness: Harness) -> None:
    harness.sandbox.fault("rate_limited", times=4, seconds=1)
    harness.sandbox.fault("rate_limited", times=2, method="POST", seconds=1)
    started = time.monotonic()
    report = harness.down()
    assert report.status == "ok", (report.error, report.accounts[0].failures)
    assert time.monotonic() - started >= 1.0  # the Retry-After waits really happened
    assert sum(1 for e in harness.sandbox.log() if e["status"] == 429) == 6
    assert_complete_without_duplicates(harness)


def test_self_throttling_stays_under_a_real_limit(harness: Harness) -> None:
    # The emulator rejects beyond 240/min; the client paces itself at that rate.
    harness.sandbox.set_rate_limit(240, "reject")
    harness.account = {"rate_per_minute": 240}
    harness.school = TinySchool.build(harness.school.folder, harness.school.first_day, days=1)
    report = harness.down()
    assert report.status == "ok", (report.error, report.accounts[0].failures)
    assert harness.sandbox.rate_stats()["rejected"] == 0


def test_5xx_bursts_are_retried(harness: Harness) -> None:
    harness.sandbox.fault("status", times=3, status=502)
    harness.sandbox.fault("status", times=2, status=500, method="PATCH")
    harness.sandbox.fault("status", times=2, status=504, method="POST")
    report = harness.down()
    assert report.status == "ok", (report.error, report.accounts[0].failures)
    assert_complete_without_duplicates(harness)


def test_timeouts_are_retried(harness: Harness) -> None:
    harness.sandbox.fault("timeout", times=2, seconds=3)
    harness.sandbox.fault("timeout", times=1, method="POST", seconds=3)
    report = harness.down()
    assert report.status == "ok", (report.error, report.accounts[0].failures)
    assert_complete_without_duplicates(harness)


def test_malformed_body_fails_one_write_not_the_run(harness: Harness) -> None:
    harness.sandbox.fault("malformed", times=1, method="POST", path="/v1/course")
    report = harness.down()
    assert report.status in ("ok", "partial")
    assert harness.sandbox.duplicate_api_ids(API_KEY) == []
    harness.down()
    assert_complete_without_duplicates(harness)


def test_latency_does_not_change_the_result(harness: Harness) -> None:
    harness.sandbox.set_latency(30)
    assert harness.down().status == "ok"
    harness.sandbox.set_latency(0)
    assert_complete_without_duplicates(harness)
