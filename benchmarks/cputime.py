"""CPU seconds of a live process tree, read from /proc (Linux), and of a run at its first request."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the REPL probes import this module with another tree's `tests` first on the path
    from tests.fakes.provider import FakeProvider, Reply, Request


def tree_cpu(pid: int) -> float:
    """User + system seconds of a live process and its descendants (waited-for children included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class FirstRequest:
    """Answers the fake provider's root requests with `turns`, and notes the wall and tree CPU
    seconds of the watched `rlm ask` process when its first model request arrives."""

    def __init__(self, provider: FakeProvider, turns: list[Reply]) -> None:
        self.turns = turns
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.first: tuple[float, float] | None = None
        provider.root_script = self.reply

    def watch(self, process: subprocess.Popen[bytes], started: float) -> None:
        """Observe `process`, launched at perf_counter() `started`, from now on."""
        self.process, self.started, self.first = process, started, None

    def reply(self, request: Request) -> Reply:
        if request.turn == 0 and self.first is None and self.process is not None:
            self.first = (time.perf_counter() - self.started, tree_cpu(self.process.pid))
        return self.turns[min(request.turn, len(self.turns) - 1)]
