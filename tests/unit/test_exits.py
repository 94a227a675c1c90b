"""The one error -> exit code mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_cli.errors import ConfigError, InputError, ProviderError, SandboxError, Terminated
from rlm_cli.exits import (
    EXIT_CODES_HELP,
    ExitCode,
    error_line,
    exit_code_for,
    exit_code_for_stop,
    stop_for,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("x"), 2),
        (ConfigError("x"), 4),
        (ProviderError("x"), 5),
        (SandboxError("x"), 6),
        (KeyboardInterrupt(), 130),
        (ValueError("x"), 1),
    ],
)
def test_each_error_kind_has_its_documented_code(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == ExitCode(code)


def test_error_lines_are_one_line() -> None:
    assert error_line(InputError("no such path: x")) == "rlm: error: no such path: x"
    assert "\n" not in error_line(ValueError("boom"))
    assert "internal error" in error_line(ValueError("boom"))


@pytest.mark.parametrize(
    ("stopped_by", "failure", "code"),
    [("answer", None, 0), ("max_cost", None, 3), ("timeout", None, 3), ("interrupt", None, 130),
     ("error", ConfigError("x"), 4), ("error", ProviderError("x"), 5), ("error", None, 5)],
)
def test_how_a_run_stopped_maps_to_its_exit_code(stopped_by: str, failure: BaseException | None, code: int) -> None:
    assert exit_code_for_stop(stopped_by, failure) == ExitCode(code)


def test_every_exit_code_is_documented_in_the_help_and_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f" {int(code)} " in EXIT_CODES_HELP, code
        assert f"\n| {int(code)} | " in readme, code


@pytest.mark.parametrize(
    ("error", "stopped_by", "code"),
    [(KeyboardInterrupt(), "interrupt", 130), (Terminated(15, "SIGTERM"), "interrupt", 143),
     (Terminated(1, "SIGHUP"), "interrupt", 129), (SandboxError("x"), "error", 6), (ValueError("x"), "error", 1)],
)
def test_a_run_ended_by_an_error_stops_and_exits_as_that_error_says(error: BaseException, stopped_by: str, code: int) -> None:
    assert stop_for(error) == stopped_by
    assert exit_code_for_stop(stop_for(error), error) == exit_code_for(error) == ExitCode(code)
