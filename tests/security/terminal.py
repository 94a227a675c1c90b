"""Run the real `rlm` with its stdout and stderr on a pseudo-terminal, as a user's shell would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from collections.abc import Sequence

from tests.e2e import forkserver
from tests.e2e.helpers import FAKE_KEY


def rlm_on_terminal(
    args: Sequence[str], *, timeout: float = 60, columns: int = 100, env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Exit code and everything written to the terminal (stdout and stderr share it); `env` adds variables."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "40", **(env or {})}
    env.pop("NO_COLOR", None)
    process = forkserver.Forked(args, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env, cwd=None)
    os.close(terminal)
    try:
        screen = read_terminal(controller, timeout)
    finally:
        code = process.wait(timeout=timeout)
    return code, screen


def read_terminal(controller: int, timeout: float) -> str:
    """Everything written to a pty until every writer has closed it; the controller is closed after."""
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], timeout)
            if not ready:
                raise TimeoutError("no output from rlm on the terminal")
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal closed: every writer has exited
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(controller)
    return b"".join(chunks).decode("utf-8", errors="replace")
