"""The command line's surface: help, version, config, and usage errors with their exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import forkserver
from tests.e2e.helpers import rlm


def test_help_lists_commands_and_exit_codes() -> None:
    done = rlm(["--help"])
    assert done.returncode == 0
    for word in ("ask", "config", "mcp", "Exit codes", "130 interrupted"):
        assert word in done.stdout


def test_ask_help_groups_options_in_panels() -> None:
    done = rlm(["ask", "--help"], env={"COLUMNS": "120"})
    assert done.returncode == 0
    for panel in ("Model", "Budgets", "Input", "Sandbox", "Output"):
        assert f"─ {panel} " in done.stdout
    for option in ("--model", "--sub-model", "--api-base", "--depth", "--max-iterations", "--max-cost",
                   "--max-sub-calls", "--timeout", "--concurrency", "--include", "--exclude",
                   "--no-gitignore", "--cell-timeout", "--json", "--trace", "--quiet", "--sandbox"):
        assert option in done.stdout
    assert "[env: RLM_MODEL]" in done.stdout and "[default: 30]" in done.stdout  # not eaten as markup


def test_bench_help_keeps_bracketed_notes() -> None:
    done = rlm(["bench", "--help"], env={"COLUMNS": "120"})
    assert done.returncode == 0
    for note in ("[env: RLM_MODEL]", "[default: 30]", "[default: 8]", "[default: auto]"):
        assert note in done.stdout  # not eaten as markup


def test_ask_epilog_names_the_flags_that_are_not_settings() -> None:
    done = rlm(["ask", "--help"], env={"COLUMNS": "400"})
    assert "Every option can also be set" not in done.stdout
    assert "RLM_TRACE=false" in done.stdout
    assert "--paths-from, --json, --events, --trace, --quiet and --verbose are flags only" in done.stdout


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        ("ask", "--sandbox", "foo"),
        ("ask", "--progress", "foo"),
        ("ask", "--timeout", "0"),
        ("bench", "--sandbox", "foo"),
        ("bench", "--timeout", "0"),
    ],
)
def test_bad_flag_value_is_a_usage_error(isolated_env: Path, tmp_path: Path, command: str, flag: str, value: str) -> None:
    (tmp_path / "a.txt").write_text("hello")
    args = [str(tmp_path / "a.txt"), "what?"] if command == "ask" else ["niah"]
    done = rlm([command, *args, flag, value, "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1"])
    assert done.returncode == 2, done.stderr
    assert flag in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("source", ["env", "config"])
@pytest.mark.parametrize("setting", ["sandbox", "progress"])
def test_bad_choice_from_env_or_config_is_a_config_error(isolated_env: Path, tmp_path: Path, source: str, setting: str) -> None:
    (tmp_path / "a.txt").write_text("hello")
    env = {}
    if source == "env":
        env[f"RLM_{setting.upper()}"] = "foo"
    else:
        config = isolated_env / "config" / "rlm" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'{setting} = "foo"\n', encoding="utf-8")
    done = rlm(["ask", str(tmp_path / "a.txt"), "what?", "--model", "openai/x"], env=env)
    assert done.returncode == 4, done.stderr
    assert setting in done.stderr and "foo" in done.stderr
    assert "Traceback" not in done.stderr


def test_version_from_both_entry_points() -> None:
    from rlm_cli import __version__

    assert rlm(["--version"]).stdout.strip() == f"rlm {__version__}"
    script = Path(sys.executable).with_name("rlm")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == f"rlm {__version__}"


def test_config_show_reports_each_origin(isolated_env: Path) -> None:
    config = isolated_env / "config" / "rlm" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('model = "openai/from-file"\nconcurrency = 4\n', encoding="utf-8")
    done = rlm(["config", "show", "--json"], env={"RLM_CONCURRENCY": "6", "RLM_DEPTH": "2"})
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["config_file"] == str(config)
    settings = shown["settings"]
    assert settings["model"] == {"value": "openai/from-file", "origin": "config"}
    assert settings["concurrency"] == {"value": 6, "origin": "env"}
    assert settings["depth"] == {"value": 2, "origin": "env"}
    assert settings["max_iterations"] == {"value": 30, "origin": "default"}
    table = rlm(["config", "show"], env={"COLUMNS": "150"})
    assert "openai/from-file" in table.stdout and "config" in table.stdout


def test_config_path_follows_xdg(isolated_env: Path) -> None:
    done = rlm(["config", "path"])
    assert done.stdout.strip() == str(isolated_env / "config" / "rlm" / "config.toml")


def test_malformed_config_is_exit_4_naming_file_and_line(isolated_env: Path, tmp_path: Path) -> None:
    config = isolated_env / "config" / "rlm" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("model = \n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("hello")
    done = rlm(["ask", str(tmp_path / "a.txt"), "what?"])
    assert done.returncode == 4
    assert str(config) in done.stderr and "line 1" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_question_is_a_usage_error() -> None:
    done = rlm(["ask"])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_stdin_from_a_terminal_exits_2_with_a_hint() -> None:
    primary, secondary = pty.openpty()
    try:
        process = forkserver.Forked(["ask", "-", "why?"], stdin=secondary, env={**os.environ, "OPENAI_API_KEY": "sk-x"}, cwd=None)
        _, stderr = process.communicate(timeout=30)
    finally:
        os.close(primary)
        os.close(secondary)
    assert process.returncode == 2
    assert stderr is not None and "stdin is a terminal" in stderr
    assert "cat big.log | rlm ask -" in stderr


def test_missing_path_is_exit_2_and_json_still_prints_one_object(tmp_path: Path) -> None:
    done = rlm(["ask", str(tmp_path / "nope"), "what?", "--json", "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1"])
    assert done.returncode == 2
    payload = json.loads(done.stdout)
    assert payload["error"] and "nope" in payload["error"]
    assert payload["ready"] is False and payload["schema"] == 1


def test_a_sandbox_that_cannot_start_is_exit_6(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("hello\n", encoding="utf-8")
    # Without bubblewrap on PATH, --sandbox bwrap cannot start: its own code, not "provider failure".
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    done = rlm(["ask", str(source), "q?", "--sandbox", "bwrap", "-m", "openai/root", "--api-base", "http://127.0.0.1:9/v1"], env=env)
    assert done.returncode == 6
    assert "rlm: error: --sandbox bwrap: bubblewrap cannot run the REPL here" in done.stderr
    assert "Traceback" not in done.stderr
