"""The checked-in completion scripts are what the Typer app generates today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate", COMPLETIONS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_checked_in_script_is_current(shell: str) -> None:
    generator = load_generator()
    path = COMPLETIONS / generator.FILES[shell]
    assert path.read_text(encoding="utf-8") == generator.completion_script(shell), (
        f"{path.name} is stale: run `python completions/generate.py`"
    )
    assert "_RLM_COMPLETE" in path.read_text(encoding="utf-8")
