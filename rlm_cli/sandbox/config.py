"""SandboxConfig: how the REPL worker is isolated and limited. Leaf module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a Sandbox is tuned by; the defaults suit one `rlm ask` run."""

    mode: str = "auto"
    manifest_path: Path | None = None  # None: `context` is the empty string
    readable_paths: tuple[Path, ...] = ()  # corpus roots, spool dir: read-only inside
    cell_timeout: float = 120.0
    output_limit: int = 20_000  # characters per part shown to the model
    capture_limit: int = 4_000_000  # characters kept per stream while a cell runs (hard cap)
    memory_limit: int | None = 4 * 1024**3  # bytes of heap (RLIMIT_DATA); None: no limit
    file_size_limit: int | None = 1024**3  # bytes per written file (RLIMIT_FSIZE)
    scratch_limit: int | None = 2 * 1024**3  # bytes the scratch directory may hold in all
    allow_net: bool = False
    allow_write: tuple[Path, ...] = ()
    max_restarts: int = 3  # consecutive worker failures before giving up
    scratch_dir: Path | None = None  # None: a temporary directory, removed on close
    start_timeout: float = 30.0
    keep_after_interrupt: bool = False  # a cell stopped by Ctrl-C in time leaves the worker running (rlm chat)
