"""What a run says about the isolation it got: loudly when it is weaker than asked or expected."""

from __future__ import annotations

import pytest

from rlm_cli.runner import _sandbox_notes
from rlm_cli.sandbox import landlock


def test_bubblewrap_says_nothing() -> None:
    assert _sandbox_notes("bwrap", "auto") == []


def test_falling_back_to_process_mode_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "abi_version", lambda: 7)
    [(message, level)] = _sandbox_notes("process", "auto")
    assert level == "warning" and "bubblewrap is not usable here" in message and "Landlock" in message
    [(message, level)] = _sandbox_notes("process", "process")  # asked for: only said
    assert level == "info" and "bubblewrap is not usable" not in message


def test_process_mode_without_landlock_is_called_a_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    [(message, level)] = _sandbox_notes("process", "process")
    assert level == "warning" and "a guard, not a boundary" in message


def test_no_sandbox_is_a_warning() -> None:
    [(message, level)] = _sandbox_notes("none", "none")
    assert level == "warning" and "unisolated" in message
