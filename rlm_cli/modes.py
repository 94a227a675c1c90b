"""The choices of the mode settings, each listed once: as a type (for flags) and as a tuple.

Leaf module (typing only).
"""

from __future__ import annotations

from typing import Literal, get_args

SandboxMode = Literal["auto", "bwrap", "process", "none"]
ProgressMode = Literal["auto", "tree", "plain", "none"]

SANDBOX_MODES: tuple[str, ...] = get_args(SandboxMode)
PROGRESS_MODES: tuple[str, ...] = get_args(ProgressMode)
