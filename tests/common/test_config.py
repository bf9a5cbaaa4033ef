"""The coordinator's secrets as configured: tokens (one, a list, a file) and their principals,
refused when empty rather than left open; download lifetimes within S3's 7 days; the public S3
endpoint. Read through ``Config.from_environment`` (as the CLI does) and through the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import ApiToken, Config, _read_token_file, parse_tokens, public_endpoint
from common.errors import NO_VALUE, InvalidInput

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


# --- the messages and values each refusal gives ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("files.example.com", ("files.example.com", False)),
        ("FILES.Example.COM:8333", ("FILES.Example.COM:8333", False)),
        ("[2001:DB8::1]:9000", ("[2001:DB8::1]:9000", False)),
        ("http://files.example.com:8333", ("files.example.com:8333", False)),
        ("https://files.example.com/", ("files.example.com", True)),
    ],
)
def test_a_public_endpoint_gives_its_host_and_whether_to_use_tls(
    value: str, expected: tuple[str, bool]
) -> None:
    assert public_endpoint(value, secure=False) == expected


def test_a_plain_host_keeps_the_tls_it_was_given() -> None:
    assert public_endpoint("files.example.com", secure=True) == ("files.example.com", True)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "ftp://files.example.com",
            "expected http(s)://host[:port], got 'ftp://files.example.com'",
        ),
        ("https://", "expected http(s)://host[:port], got 'https://'"),
        ("https://h/bucket", "expected no path, query or user in 'https://h/bucket'"),
        ("https://h?x=1", "expected no path, query or user in 'https://h?x=1'"),
        ("https://h#top", "expected no path, query or user in 'https://h#top'"),
        ("https://me@h", "expected no path, query or user in 'https://me@h'"),
        ("not a host", "expected host:port or http(s)://host:port, got 'not a host'"),
    ],
)
def test_a_malformed_public_endpoint_says_what_was_expected(value: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        public_endpoint(value, secure=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "the list: not valid JSON (JSONDecodeError)"),
        ('{"alice": 5}', 'the list: expected a JSON object {"principal": "token"}'),
        ("alice:ok-token\nbob", "the list: entry 2 is not principal:token"),
        ("# who\nalice", "the list: entry 2 is not principal:token"),
        ("alice: ", "the list: alice's token is empty (refusing to start with the API open)"),
        ("alice:a\tb", "the list: alice's token has spaces or control characters"),
    ],
)
def test_a_malformed_token_list_says_which_entry_and_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        parse_tokens(text, source="the list")


def test_a_token_file_s_problems_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("alice:ok\nbob\n")
    with pytest.raises(ValueError, match=r"^the file: entry 2 is not principal:token$"):
        _read_token_file(str(path))


def test_a_token_file_is_utf_8_whatever_the_locale(tmp_path: Path) -> None:
    """A C locale without UTF-8 coercion reads files as ASCII by default; tokens may hold any
    printable character, so the file is read as UTF-8 explicitly."""
    path = tmp_path / "tokens"
    path.write_text("alice:tok-\u00e9t\u00e9\n", encoding="utf-8")
    assert _read_token_file(str(path)) == [ApiToken("alice", "tok-\u00e9t\u00e9")]
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    code = "import sys; from common.config import _read_token_file; "
    code += "print(ascii(_read_token_file(sys.argv[1])))"
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        check=False,
        cwd=Path.cwd(),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ascii([ApiToken("alice", "tok-\u00e9t\u00e9")])


def test_a_setting_set_wrong_is_refused_naming_it_and_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(InvalidInput) as error:
        from_env(monkeypatch, FRAMEFARM_MAX_WIDTH="wide")
    assert error.value.what == "environment"
    (issue,) = error.value.issues
    assert issue.path == "FRAMEFARM_MAX_WIDTH"
    assert issue.value == "wide"
    assert str(error.value).startswith("invalid environment: 1 error\n")


def test_a_secret_set_wrong_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput) as error:
        from_env(monkeypatch, FRAMEFARM_API_TOKEN="two words")
    (issue,) = error.value.issues
    assert issue.path == "FRAMEFARM_API_TOKEN"
    assert issue.value is NO_VALUE
