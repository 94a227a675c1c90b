"""The two consoles: stdout carries only the answer, stderr carries everything else."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def no_color() -> bool:
    """NO_COLOR (any value) or TERM=dumb turns colour and animation off."""
    return "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb"


def stdout_console() -> Console:
    """A console on stdout."""
    return Console(file=sys.stdout, no_color=no_color(), highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """A console on stderr."""
    return Console(file=sys.stderr, stderr=True, no_color=no_color(), highlight=False)
