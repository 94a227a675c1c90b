"""Peer tools the benchmarks compare against (llm, files-to-prompt), each installed from PyPI into
a virtual environment of its own under ~/.cache/rlm-bench/ on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CACHE = Path.home() / ".cache" / "rlm-bench"


def peer_tool(package: str, command: str) -> Path | None:
    """The `command` executable of PyPI `package` in its own venv; None when it cannot be installed."""
    venv = CACHE / package
    executable = venv / "bin" / command
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], check=False)
        if install.returncode != 0:
            return None
    return executable
