"""`rollbridge demo` end to end, as a user runs it: both sources, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

IDEMPOTENT = "idempotent: a second sync wrote nothing"


def run_demo(workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBRIDGE_")}
    env["COLUMNS"] = "200"  # no wrapped lines in what we assert on
    return subprocess.run(
        [sys.executable, "-m", "rollbridge", "demo", "--workdir", str(workdir), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("extra", [(), ("--source", "hyperplanning")], ids=["files", "hp"])
def test_demo_second_sync_writes_nothing(tmp_path: Path, extra: tuple[str, ...]) -> None:
    done = run_demo(tmp_path / "demo", *extra)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert IDEMPOTENT in done.stdout
    assert "Edusign write requests: 0" in done.stdout
    if extra:
        assert "Hyperplanning received:" in done.stdout
        assert "new Hyperplanning writes: 0" in done.stdout
        assert (tmp_path / "demo" / "hyperplanning-state").is_dir()
    else:
        assert (tmp_path / "demo" / "attendance.csv").is_file()
