"""The worker's scratch directory seen from the host: how much it holds, and emptying it.

RLIMIT_FSIZE caps each file the worker writes; this caps them all together. Host side.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


def over(path: Path, limit: int) -> int | None:
    """The bytes under `path` once they pass `limit` (the walk stops there), else None."""
    total, todo = 0, [str(path)]
    while todo:
        with contextlib.suppress(OSError), os.scandir(todo.pop()) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                if total > limit:
                    return total
    return None


def empty(path: Path) -> None:
    """Remove everything inside `path`, keeping the directory itself."""
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in list(entries):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
