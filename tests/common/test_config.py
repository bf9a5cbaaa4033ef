"""The coordinator's secrets as configured: tokens (one, a list, a file) and their principals,
refused when empty rather than left open; download lifetimes within S3's 7 days; the public S3
endpoint. Read through ``Config.from_environment`` (as the CLI does) and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import ApiToken, Config
from common.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]


def from_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Config:
    for name in list(os.environ):
        if name.startswith("FRAMEFARM_"):
            monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Config.from_environment()


def refused(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    """The one issue that reading these variables gives, as the CLI prints it."""
    with pytest.raises(InvalidInput) as error:
        from_env(monkeypatch, **variables)
    assert len(error.value.issues) == 1, error.value.issues
    return str(error.value.issues[0])


def test_no_token_leaves_the_api_open(monkeypatch: pytest.MonkeyPatch) -> None:
    assert from_env(monkeypatch).coordinator.tokens == ()


@pytest.mark.parametrize(
    "variables",
    [
        {"FRAMEFARM_API_TOKEN": ""},
        {"FRAMEFARM_API_TOKEN": "   "},
        {"FRAMEFARM_API_TOKENS": ""},
        {"FRAMEFARM_API_TOKENS": " , "},
        {"FRAMEFARM_API_TOKENS": "alice:"},
        {"FRAMEFARM_API_TOKENS": "alice:ok-token,bob:"},
    ],
)
def test_an_empty_token_or_list_refuses(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    line = refused(monkeypatch, **variables)
    name = next(iter(variables))
    assert line.startswith(f"{name}: "), line
    assert "empty" in line or "no tokens" in line, line
    assert "got" not in line  # a secret's value is never echoed


@pytest.mark.parametrize("text", ["", "# nobody yet\n\n", "{}"])
def test_an_empty_token_file_refuses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "tokens"
    path.write_text(text)
    line = refused(monkeypatch, FRAMEFARM_API_TOKENS_FILE=str(path))
    assert line.startswith("FRAMEFARM_API_TOKENS_FILE: ") and "no tokens" in line, line


def test_tokens_from_the_env_list_and_a_file_of_either_form(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = tmp_path / "tokens.txt"
    lines.write_text("# who may call\ncarol:carol-token\n\n dave : dave-token \n")
    config = from_env(
        monkeypatch,
        FRAMEFARM_API_TOKEN="root-token",
        FRAMEFARM_API_TOKENS="alice:alice-token,bob:bob:colon",
        FRAMEFARM_API_TOKENS_FILE=str(lines),
        FRAMEFARM_API_ADMINS="admin, carol",
    )
    assert config.coordinator.tokens == (
        ApiToken("admin", "root-token"),
        ApiToken("alice", "alice-token"),
        ApiToken("bob", "bob:colon"),  # split at the first colon: a token may hold one
        ApiToken("carol", "carol-token"),
        ApiToken("dave", "dave-token"),
    )
    assert config.coordinator.admins == {"admin", "carol"}
    as_json = tmp_path / "tokens.json"
    as_json.write_text(json.dumps({"erin": "erin-token"}))
    config = from_env(monkeypatch, FRAMEFARM_API_TOKENS_FILE=str(as_json))
    assert config.coordinator.tokens == (ApiToken("erin", "erin-token"),)
    assert config.coordinator.admins == {"admin"}  # the default admin principal


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({"FRAMEFARM_API_TOKENS": "alice"}, "not principal:token"),
        ({"FRAMEFARM_API_TOKENS": "al ice:x-token"}, "principal 'al ice'"),
        ({"FRAMEFARM_API_TOKENS": "alice:two words"}, "spaces"),
        ({"FRAMEFARM_API_TOKENS": "alice:same,bob:same"}, "both 'alice' and 'bob'"),
        ({"FRAMEFARM_API_TOKENS_FILE": "/nonexistent/tokens"}, "cannot read the file"),
    ],
)
def test_a_malformed_token_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], words: str
) -> None:
    line = refused(monkeypatch, **variables)
    assert line.startswith(next(iter(variables))) and words in line, line
    assert "same" not in line.replace("the same", "")  # no token in the message


def test_download_lifetime_is_short_by_default_and_within_s3s_seven_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert from_env(monkeypatch).coordinator.download_expires_seconds == 300
    week = 7 * 24 * 3600
    config = from_env(monkeypatch, FRAMEFARM_DOWNLOAD_EXPIRES_SECONDS=str(week))
    assert config.coordinator.download_expires_seconds == week
    line = refused(monkeypatch, FRAMEFARM_DOWNLOAD_EXPIRES_SECONDS=str(week + 1))
    assert line.startswith("FRAMEFARM_DOWNLOAD_EXPIRES_SECONDS: ") and "604800" in line, line


@pytest.mark.parametrize(
    "value", ["files.example.com", "files.example.com:8333", "https://files.example.com"]
)
def test_a_public_s3_endpoint_is_a_host_or_a_url(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    config = from_env(monkeypatch, FRAMEFARM_S3_PUBLIC_ENDPOINT=value)
    assert config.service.s3_public_endpoint == value


@pytest.mark.parametrize(
    "value", ["ftp://files.example.com", "https://files.example.com/bucket", "not a host"]
)
def test_a_malformed_public_s3_endpoint_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    line = refused(monkeypatch, FRAMEFARM_S3_PUBLIC_ENDPOINT=value)
    assert line.startswith("FRAMEFARM_S3_PUBLIC_ENDPOINT: "), line


@pytest.mark.parametrize(
    ("name", "value"),
    [("FRAMEFARM_API_TOKEN", ""), ("FRAMEFARM_DOWNLOAD_EXPIRES_SECONDS", "999999999")],
)
def test_the_coordinator_refuses_to_start_in_one_line(
    tmp_path: Path, name: str, value: str
) -> None:
    """The CLI exits 2 before binding a port, with one line naming the variable."""
    env = {"PATH": "/usr/bin:/bin", "FRAMEFARM_LOCAL_STORE": str(tmp_path), name: value}
    result = subprocess.run(
        [sys.executable, "-m", "framefarm", "coordinator", "--embedded", "--port", "9"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"framefarm: {name}: "), result.stderr
