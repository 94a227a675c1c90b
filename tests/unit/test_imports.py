"""The command line must start fast: importing it must not pull in the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("litellm", "pypdf", "chardet", "pathspec", "openai", "mcp", "anyio")


def test_cli_import_is_light() -> None:
    code = f"import sys, rlm_cli.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_render_and_engine_layers_keep_their_direction() -> None:
    code = (
        "import sys, rlm_cli.render, rlm_cli.events, rlm_cli.result;"
        "print(' '.join(m for m in ('rlm_cli.engine', 'rlm_cli.llm', 'litellm') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_entry_point_loads_only_the_standard_library_before_its_first_line() -> None:
    code = "import sys; before = set(sys.modules); import rlm_cli.early; print(' '.join(sorted(set(sys.modules) - before)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) <= {"rlm_cli", "rlm_cli.early", "rlm_cli.status", "__future__", "_thread"}, done.stdout


def test_rlm_runs_the_entry_point_that_writes_the_early_line() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["rlm"] == "rlm_cli.early:main"
