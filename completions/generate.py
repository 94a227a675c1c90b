"""Regenerate the shell completion scripts from the Typer app: python completions/generate.py"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"bash": "rlm.bash", "zsh": "_rlm", "fish": "rlm.fish"}


def completion_script(shell: str) -> str:
    """The completion script Typer produces for `rlm` in `shell`."""
    # With detection disabled, --show-completion takes the shell as its value.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    code = "import sys; sys.argv[0] = 'rlm'; from rlm_cli.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--show-completion", shell],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"completion for {shell} failed: {done.stderr.strip()}")
    return done.stdout


def main() -> None:
    """Write every script next to this file."""
    for shell, name in FILES.items():
        (HERE / name).write_text(completion_script(shell), encoding="utf-8")
        print(f"wrote completions/{name}")


if __name__ == "__main__":
    main()
