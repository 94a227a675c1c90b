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
