"""The `rollbridge` command as a person or a script uses it: exit codes, JSON, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from rollbridge.config import load_config
from rollbridge.sandbox.edusign_server import EdusignSandbox

from ..integration.tiny_school import TinySchool

PLANTED = "sk-PLANTED-e2e-9f8e7d"


@dataclass
class Cli:
    folder: Path
    config: Path
    env: dict[str, str]

    def run(self, *args: str, key: str = PLANTED) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "EDUSIGN_API_KEY": key}
        return subprocess.run(
            [sys.executable, "-m", "rollbridge", *args, "-c", str(self.config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=240,
            check=False,
        )


@pytest.fixture
def cli(tmp_path: Path, edusign: EdusignSandbox) -> Cli:
    edusign.add_school(PLANTED)
    school = TinySchool.build(tmp_path / "school", date.today(), days=8)
    school.write()
    config = tmp_path / "rollbridge.toml"
    env = {**os.environ, "ROLLBRIDGE_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    env.pop("ROLLBRIDGE_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "rollbridge", "init", "-c", str(config), "--tenant", "cfa-e2e"],
        check=True,
        env=env,
        capture_output=True,
    )
    text = config.read_text(encoding="utf-8")
    text = text.replace('oneroster = "data/oneroster"', f'oneroster = "{school.oneroster}"')
    text = text.replace('sessions = "data/sessions.csv"', f'sessions = "{school.sessions_csv}"')
    text = text.replace('"data/attendance.csv"', f'"{school.folder / "attendance.csv"}"')
    text = text.replace(
        'base_url = "https://ext.edusign.fr"',
        f'base_url = "{edusign.url}"\nallow_insecure_http = true',
    )
    text = text.replace("rate_per_minute = 480", "rate_per_minute = 60000")
    config.write_text(text, encoding="utf-8")
    return Cli(tmp_path, config, env)


def test_init_writes_a_valid_commented_config(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUSIGN_API_KEY", "whatever")
    config = load_config(cli.config)
    assert config.tenant == "cfa-e2e"
    assert "# " in cli.config.read_text(encoding="utf-8")
    assert (cli.folder / "state" / "secret.key").exists()
    again = subprocess.run(
        [sys.executable, "-m", "rollbridge", "init", "-c", str(cli.config)],
        capture_output=True,
        text=True,
        env=cli.env,
        check=False,
    )
    assert again.returncode == 1 and "already exists" in again.stderr


def test_check_then_sync_with_json_reports(cli: Cli) -> None:
    checked = cli.run("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "key accepted" in checked.stdout
    planned = cli.run("plan", "--json")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["status"] == "planned"
    first = cli.run("sync", "down", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["status"] == "ok" and report["writes"] > 0
    second = json.loads(cli.run("sync", "down", "--json").stdout)
    assert second["writes"] == 0
    up = cli.run("sync", "up")
    assert up.returncode == 0 and "marks written back" in up.stdout
    status = cli.run("status")
    assert status.returncode == 0 and status.stdout.count("down") >= 2


def test_wrong_key_exits_1_with_a_clear_message_and_no_secret(cli: Cli) -> None:
    result = cli.run("sync", "down", "--log-level", "debug", key="sk-PLANTED-wrong-0000")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "API key" in output
    assert "sk-PLANTED-wrong-0000" not in output
    checked = cli.run("check", key="sk-PLANTED-wrong-0000")
    assert (
        checked.returncode == 1 and "sk-PLANTED-wrong-0000" not in checked.stdout + checked.stderr
    )


def test_planted_secret_never_leaks_at_debug_level(cli: Cli) -> None:
    outputs = [
        cli.run("sync", "down", "--log-level", "debug"),
        cli.run("sync", "up", "--log-level", "debug"),
        cli.run("status", "--json"),
        cli.run("check"),
    ]
    for result in outputs:
        assert PLANTED not in result.stdout + result.stderr
    assert any("edusign.request" in r.stderr for r in outputs)  # debug logging really was on
    for path in (cli.folder / "state").rglob("*"):
        if path.is_file():
            assert PLANTED.encode() not in path.read_bytes(), path


def test_held_plan_exits_3_then_approve_applies(cli: Cli) -> None:
    assert cli.run("sync", "down").returncode == 0
    sessions = cli.folder / "school" / "sessions.csv"
    lines = sessions.read_text(encoding="utf-8").splitlines()
    sessions.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    held = cli.run("sync", "down", "--json")
    assert held.returncode == 3, held.stdout + held.stderr
    plan_id = json.loads(held.stdout)["held_plan_id"]
    shown = cli.run("status")
    assert plan_id in shown.stdout
    approved = cli.run("approve", plan_id, "--json")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert json.loads(approved.stdout)["status"] == "ok"
    rejected = cli.run("reject", plan_id)
    assert rejected.returncode == 1 and "is applied; it cannot become rejected" in rejected.stderr


def test_bad_config_names_file_and_field(cli: Cli) -> None:
    cli.config.write_text(
        cli.config.read_text(encoding="utf-8").replace('room_label = "name"', 'room_label = "nom"')
    )
    result = cli.run("sync", "down")
    assert result.returncode == 1
    assert str(cli.config) in result.stderr and "options.room_label" in result.stderr


def test_check_warns_when_a_record_lands_in_two_accounts(cli: Cli, edusign: EdusignSandbox) -> None:
    edusign.add_school("sk-PLANTED-second-account")
    text = cli.config.read_text(encoding="utf-8")
    text = text.replace('name = "main"', 'name = "main"\nlearners.attrs = { "org" = ["org-1"] }')
    text += (
        '\n[[accounts]]\nname = "second"\napi_key = "sk-PLANTED-second-account"\n'
        f'base_url = "{edusign.url}"\nallow_insecure_http = true\n'
        'learners.attrs = { "org" = ["org-1"] }\n'
    )
    cli.config.write_text(text, encoding="utf-8")
    result = cli.run("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "learners rule org = 'org-1' appears in accounts main, second" in result.stdout
    assert "lands in accounts main, second" in result.stdout
    assert "sk-PLANTED-second-account" not in result.stdout + result.stderr


def test_sandbox_command_serves_the_emulator(tmp_path: Path) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "rollbridge", "sandbox", "--port", str(port), "--api-key", "k-demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        while not any(f"127.0.0.1:{port}" in line for line in lines) and len(lines) < 10:
            lines.append(server.stdout.readline())
        assert f"127.0.0.1:{port}" in lines[-1], lines
        reply = httpx.get(
            f"http://127.0.0.1:{port}/v1/school", headers={"Authorization": "Bearer k-demo"}
        )
        assert reply.json()["status"] == "success"
        assert httpx.get(f"http://127.0.0.1:{port}/v1/school").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_api_key_kept_encrypted_in_the_store(cli: Cli) -> None:
    text = cli.config.read_text(encoding="utf-8")
    cli.config.write_text(
        text.replace(
            'api_key = { env = "EDUSIGN_API_KEY" }', 'api_key = { store = "edusign-main" }'
        ),
        encoding="utf-8",
    )
    before = cli.run("sync", "down")
    assert before.returncode == 1 and "rollbridge secret set edusign-main" in before.stderr
    stored = subprocess.run(
        [
            sys.executable,
            "-m",
            "rollbridge",
            "secret",
            "set",
            "edusign-main",
            "-c",
            str(cli.config),
        ],
        input=PLANTED + "\n",
        capture_output=True,
        text=True,
        env=cli.env,
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    assert PLANTED not in stored.stdout + stored.stderr
    synced = cli.run("sync", "down", "--json", key="not-this-one")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert json.loads(synced.stdout)["writes"] > 0
    database = cli.folder / "state" / "rollbridge.db"
    assert PLANTED.encode() not in database.read_bytes()
