"""When this process started, on the wall clock: the zero of every elapsed time a run reports.

The tree's footer, the plain lines, the summary and `rlm show` all count from here, so a run
has one elapsed time, start-up included. Standard library only.
"""

from __future__ import annotations

import functools
import os
import time

_IMPORTED = time.time()  # the fallback where /proc is missing: close to the start, never after


@functools.cache
def process_started() -> float:
    """The process's start time (seconds since the epoch), from /proc where there is one."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as uptime:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
            up = float(uptime.read().split()[0])
        return min(_IMPORTED, time.time() - (up - ticks / os.sysconf("SC_CLK_TCK")))
    except (OSError, ValueError, IndexError):
        return _IMPORTED


def _restart_clock() -> None:
    """A forked child is a process of its own: its clock starts at the fork."""
    global _IMPORTED
    _IMPORTED = time.time()
    process_started.cache_clear()


os.register_at_fork(after_in_child=_restart_clock)


def started_at(when: float) -> None:
    """This process stands in for one started at `when`: a warm server's child for its caller."""
    global _IMPORTED
    _IMPORTED = when
    process_started.cache_clear()


def elapsed() -> float:
    """Seconds since the process started."""
    return time.time() - process_started()
