"""The one error -> exit code mapping."""

from __future__ import annotations

import pytest

from rlm_cli.errors import ConfigError, InputError, LimitReached, ProviderError, SandboxError
from rlm_cli.exits import ExitCode, error_line, exit_code_for


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("x"), 2),
        (LimitReached("x", stopped_by="timeout"), 3),
        (ConfigError("x"), 4),
        (ProviderError("x"), 5),
        (SandboxError("x"), 5),
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
