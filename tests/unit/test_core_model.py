"""Canonical records: instants are aware and normalised to UTC at construction."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rollbridge.model import Session, Snapshot, attr_values, attrs_of


def test_session_normalises_aware_times_to_utc() -> None:
    paris = ZoneInfo("Europe/Paris")
    session = Session(
        "s1",
        "Cours",
        datetime(2026, 12, 1, 9, tzinfo=paris),
        datetime(2026, 12, 1, 11, tzinfo=paris),
    )
    assert session.start_at == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert session.start_at.tzinfo is UTC and session.end_at.tzinfo is UTC


def test_session_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Session("s1", "Cours", datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 11, tzinfo=UTC))


def test_attrs_and_counts() -> None:
    attrs = attrs_of({"org": ["paris", "lyon"], "grade": "1"})
    assert attr_values(attrs, "org") == ("lyon", "paris")
    assert Snapshot().counts() == {
        "learner": 0,
        "instructor": 0,
        "tutor": 0,
        "group": 0,
        "session": 0,
    }
