"""The configuration salt of session batches: what it covers, and no secret."""

from __future__ import annotations

from typing import Any

from rollbridge.config import TenantConfig, parse_config
from rollbridge.engine.batches import config_salt


def config(*, api_key: str = "sk-one", **options: Any) -> TenantConfig:
    return parse_config(
        {
            "tenant": "t1",
            "school_year": {"start": "2026-09-01", "end": "2027-07-31"},
            "source": {
                "kind": "files",
                "oneroster": "or",
                "sessions": "s.csv",
                "attendance_out": "a.csv",
            },
            "options": options,
            "accounts": [{"name": "main", "api_key": api_key}],
        },
        source="test.toml",
    )


def test_the_salt_follows_the_options_and_not_the_api_key() -> None:
    salt = config_salt(config(), "files")
    assert config_salt(config(api_key="sk-two"), "files") == salt  # a rotated key: no rebuild
    assert config_salt(config(fixed_room_name="NFC-1"), "files") != salt
    assert config_salt(config(), "hyperplanning") != salt
    assert "sk-one" not in salt
