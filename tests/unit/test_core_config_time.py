"""Configuration errors name file, field and what is allowed; time conversion is DST-exact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rollbridge.config import load_config
from rollbridge.errors import ConfigError
from rollbridge.timeconv import NonexistentLocalTime, iso_z, local_to_utc, zone

GOOD = """
tenant = "cfa-test"
[school_year]
start = 2026-09-01
end = 2027-07-31
[source]
kind = "files"
oneroster = "data/or"
sessions = "data/sessions.csv"
attendance_out = "data/attendance.csv"
[[accounts]]
name = "main"
api_key = { env = "RB_TEST_KEY" }
"""


def test_valid_config_anchors_paths_and_reads_secret_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RB_TEST_KEY", "sk-PLANTED-123")
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.source.sessions == tmp_path / "data/sessions.csv"
    assert config.accounts[0].api_key.get_secret_value() == "sk-PLANTED-123"
    assert "sk-PLANTED-123" not in repr(config) and "sk-PLANTED-123" not in str(config.accounts[0])


def test_secret_from_file(tmp_path: Path) -> None:
    (tmp_path / "key.txt").write_text("sk-from-file\n")
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace('{ env = "RB_TEST_KEY" }', '{ file = "key.txt" }'))
    assert load_config(path).accounts[0].api_key.get_secret_value() == "sk-from-file"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('name = "main"', 'name = "main"\nrate = 3'), "accounts[0].rate: unknown field"),
        (('kind = "files"', 'kind = "excel"'), "source"),
        (
            ("[[accounts]]", '[options]\nroom_label = "nom"\n[[accounts]]'),
            "options.room_label: not allowed",
        ),
        (('name = "main"', 'name = "main"\nbase_url = "http://edusign.example"'), "must use https"),
        (("end = 2027-07-31", "end = 2026-01-01"), "school_year"),
        (
            ('api_key = { env = "RB_TEST_KEY" }', 'api_key = { env = "RB_MISSING" }'),
            "RB_MISSING is not set",
        ),
    ],
)
def test_errors_name_file_field_and_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], expected: str
) -> None:
    monkeypatch.setenv("RB_TEST_KEY", "sk-PLANTED-123")
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "sk-PLANTED-123" not in message


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("tenant = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


PARIS = zone("Europe/Paris")


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (
            datetime(2026, 10, 24, 9, 0),
            "2026-10-24T07:00:00.000Z",
        ),  # Saturday before the change: CEST
        (datetime(2026, 10, 26, 9, 0), "2026-10-26T08:00:00.000Z"),  # Monday after: CET
        (
            datetime(2027, 3, 26, 9, 0),
            "2027-03-26T08:00:00.000Z",
        ),  # Friday before spring change: CET
        (datetime(2027, 3, 29, 9, 0), "2027-03-29T07:00:00.000Z"),  # Monday after: CEST
        (datetime(2026, 10, 25, 2, 30), "2026-10-25T00:30:00.000Z"),  # ambiguous: first occurrence
    ],
)
def test_paris_wall_clock_to_utc_across_dst(local: datetime, utc: str) -> None:
    assert iso_z(local_to_utc(local, PARIS)) == utc


def test_nonexistent_local_time_is_refused_with_a_reason() -> None:
    with pytest.raises(NonexistentLocalTime, match="does not exist in Europe/Paris"):
        local_to_utc(datetime(2027, 3, 28, 2, 30), PARIS)


def test_aware_input_is_only_normalised() -> None:
    aware = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    assert local_to_utc(aware, PARIS) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_unknown_zone() -> None:
    with pytest.raises(ValueError, match="IANA"):
        zone("Europe/Lutece")
