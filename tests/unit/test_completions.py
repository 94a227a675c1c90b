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


def test_installed_command_shows_its_completion_script() -> None:
    import os
    import subprocess
    import sys

    rlm = Path(sys.executable).with_name("rlm")  # the console script an install puts on PATH
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    done = subprocess.run([str(rlm), "--show-completion", "bash"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == load_generator().completion_script("bash")


def test_install_completion_says_which_files_it_edits() -> None:
    from typer.testing import CliRunner

    from rlm_cli.cli import app

    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "~/.bashrc" in shown.stdout and "~/.zshrc" in shown.stdout and "~/.config/fish/completions/rlm.fish" in shown.stdout


def test_readme_set_up_and_license() -> None:
    import tomllib

    root = COMPLETIONS.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && . .venv/bin/activate" in readme
    assert "$ pip install -e '.[dev]'\n$ pytest\n" in readme
    assert "rlm --show-completion >" in readme and "~/.bashrc" in readme
    license_text = (root / "LICENSE").read_text(encoding="utf-8")
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"]
    assert declared == "MIT" and license_text.startswith("MIT License\n")
