"""Host side of PDF parsing: one child process (pdf_worker.py) per run, a time limit per file.

A file that takes longer than its limit is skipped as `pdf too slow` and the child is killed
(a new one starts for the next PDF); one that needs more memory than the child may have is
skipped as `pdf too large`. The host never parses a PDF itself.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import rlm_cli
from rlm_cli.corpus import Skipped
from rlm_cli.ingest.clock import Clock
from rlm_cli.ingest.pdf_worker import TOO_LARGE
from rlm_cli.ingest.spool import Spool

TOO_SLOW = "pdf too slow"
_START_TIMEOUT = 60.0  # seconds for the child's Python and pypdf to load
_PACKAGE_ROOT = str(Path(rlm_cli.__file__).resolve().parent.parent)
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH")


class PdfParser:
    """Sends PDFs to the child process and waits for each within its limit."""

    def __init__(self, timeout: float, memory: int, spool: Spool, clock: Clock) -> None:
        self.timeout, self.memory, self.spool, self.clock = timeout, memory, spool, clock
        self._child: subprocess.Popen[bytes] | None = None
        self._pending = b""

    def extract(self, path: str, file: str, size: int) -> dict[str, Any] | Skipped:
        """The manifest entry for one PDF's text, or why it was skipped."""
        child = self._started()
        if child is None:
            return Skipped(path, "broken PDF: the PDF reader did not start")
        target = self.spool.new_path("pdf")
        request = {"path": path, "file": file, "size": size, "target": str(target)}
        assert child.stdin is not None
        child.stdin.write(json.dumps(request).encode() + b"\n")
        child.stdin.flush()
        reply = self._reply(self.clock.wait(self.timeout))
        if reply is None:
            self.close()
            self.clock.check(f"parsing {path}")
            return Skipped(path, TOO_SLOW)
        if "entry" in reply:
            return dict(reply["entry"])
        return Skipped(path, str(reply.get("skip", TOO_LARGE)))

    def close(self) -> None:
        """Stop the child, if one runs."""
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            for stream in (self._child.stdin, self._child.stdout):
                if stream is not None:
                    stream.close()
            self._child, self._pending = None, b""

    def _started(self) -> subprocess.Popen[bytes] | None:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        env = {name: os.environ[name] for name in _ENV_KEPT if name in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        env["MALLOC_ARENA_MAX"] = "2"  # the heap cap counts each thread's malloc arena
        self._child = subprocess.Popen(
            [sys.executable, "-m", "rlm_cli.ingest.pdf_worker", str(self.memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        if not (self._reply(_START_TIMEOUT) or {}).get("ready"):
            self.close()
            self.clock.check("starting the PDF reader")
            return None
        return self._child

    def _reply(self, timeout: float) -> dict[str, Any] | None:
        """The child's next line as JSON; None when it did not come in time or the child died."""
        assert self._child is not None and self._child.stdout is not None
        fd = self._child.stdout.fileno()
        end = time.monotonic() + self.clock.wait(timeout)
        while b"\n" not in self._pending:
            if not select.select([fd], [], [], max(0.0, end - time.monotonic()))[0]:
                return None
            block = os.read(fd, 65536)
            if not block:  # the child died: killed past its memory (SIGKILL), or it crashed
                status = self._child.wait()
                self.close()
                return {"skip": TOO_LARGE if status == -signal.SIGKILL else f"broken PDF: the PDF reader ended ({status})"}
            self._pending += block
        line, self._pending = self._pending.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message
