"""A ceiling on the worker's tasks (processes and threads) that holds even for root.

RLIMIT_NPROC (set by the worker itself) does not bind root, and a PID namespace does not count.
Where a pids cgroup can be made below the host's own (cgroup v1, or a delegated v2 subtree), each
worker joins one per host process, capped at MAX_TASKS; elsewhere the rlimit is what there is.
Host side.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import time
from pathlib import Path

MAX_TASKS = 1024  # processes and threads of all of one host's workers together
_ROOT = Path("/sys/fs/cgroup")


def join(pid: int) -> None:
    """Move process `pid` and all its descendants (every thread of each) into the task cgroup,
    if there is one; OSError if `pid` cannot be moved.

    For a process tree that runs no untrusted code yet. A fork either completes before its
    parent's move, and the child is found by the next walk, or after it, and the child inherits
    the group; the walk repeats until it finds no process left outside.
    """
    group = task_group()
    if group is None:
        return
    procs = group / "cgroup.procs"
    procs.write_text(str(pid))
    moved = {pid}
    while fresh := [child for child in _descendants(pid) if child not in moved]:
        for child in fresh:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                procs.write_text(str(child))
            moved.add(child)


def _descendants(pid: int) -> list[int]:
    """The processes below `pid`, from every thread's `children` list in /proc."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for lists in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children = [int(child) for child in lists.read_text().split()]
                found += children
                todo += children
    return found


@functools.cache
def task_group() -> Path | None:
    """This host's pids cgroup, made on first use and removed at exit; None where none can be made."""
    for base in _own_groups():
        _sweep(base)
        group = base / f"rlm-{os.getpid()}"
        try:
            group.mkdir(exist_ok=True)
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(MAX_TASKS))
        except OSError:  # no pids controller here
            _remove(group)
            continue
        atexit.register(_remove, group)
        return group
    return None


def _own_groups() -> list[Path]:
    """The cgroup folders this process is in that carry a pids controller, v1 first."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            found.append(_ROOT / "pids" / path.lstrip("/"))
        elif controllers == "" and (_ROOT / "cgroup.controllers").exists():
            found.append(_ROOT / path.lstrip("/"))
    return found


def _sweep(base: Path) -> None:
    """Remove the groups of hosts that are gone (a host's exit can race its workers' last moments)."""
    for group in base.glob("rlm-*"):
        pid = group.name.removeprefix("rlm-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove(group)


def _remove(group: Path) -> None:
    """Kill what is left in the group (a cell's forked child that called setsid), then remove it."""
    deadline = time.monotonic() + 2.0
    while (members := _members(group)) and time.monotonic() < deadline:
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)  # the kernel moves killed tasks out of the group as they exit
    with contextlib.suppress(OSError):  # still in use, or already gone
        group.rmdir()


def _members(group: Path) -> list[int]:
    try:
        return [int(line) for line in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []
