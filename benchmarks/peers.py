"""Peer tools the benchmarks compare against (llm, files-to-prompt, the official RLM package), each
installed from PyPI into a virtual environment of its own under ~/.cache/rlm-bench/ on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CACHE = Path.home() / ".cache" / "rlm-bench"


def peer_tool(package: str, command: str) -> Path | None:
    """The `command` executable of PyPI `package` in its own venv; None when it cannot be installed."""
    return _installed(package, Path("bin") / command)


def peer_python(package: str) -> Path | None:
    """The Python of a venv holding PyPI `package`, to run code that imports it; None when it
    cannot be installed."""
    return _installed(package, Path("bin") / "python", check=True)


def _installed(package: str, inside: Path, check: bool = False) -> Path | None:
    venv = CACHE / package
    executable = venv / inside
    marker = venv / ".installed"  # the venv's python exists before the install has run
    if not executable.exists() or (check and not marker.exists()):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], check=False)
        if install.returncode != 0:
            return None
        marker.touch()
    return executable
