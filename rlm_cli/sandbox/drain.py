"""Host-side reading of the worker's own stdout and stderr pipes, capped.

Catches what bypasses the REPL's capture (os.write to fd 1, C extensions, crash reports,
bubblewrap's own errors) without ever holding more than the cap per stream.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import threading

from rlm_cli.sandbox.capture import CappedText

_NOTHING = CappedText(1)  # what `take` returns for a stream with nothing new; never written to


class RawOutput:
    """Drains the worker's stdout and stderr pipes on a thread into capped buffers."""

    def __init__(self, stdout_fd: int, stderr_fd: int, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._fds = [stdout_fd, stderr_fd]
        self._buffers = {fd: CappedText(limit) for fd in self._fds}
        self._decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in self._fds}
        self._open = set(self._fds)
        self._pending = select.poll()  # whether a pipe holds anything, in one system call
        for fd in self._fds:
            os.set_blocking(fd, False)
            self._pending.register(fd, select.POLLIN)
        self._thread = threading.Thread(target=self._drain_forever, name="rlm-raw-output", daemon=True)
        self._thread.start()

    def _drain_forever(self) -> None:
        while True:
            with self._lock:
                watching = sorted(self._open)
            if not watching:
                return
            try:
                select.select(watching, [], [])
            except (OSError, ValueError):  # closed under us by close()
                return
            with self._lock:
                self._read_available()

    def _read_available(self) -> None:
        """Read whatever the pipes hold now (caller holds the lock)."""
        for fd in list(self._open):
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    self._open.discard(fd)
                    self._pending.unregister(fd)
                    break
                self._buffers[fd].write(self._decoders[fd].decode(chunk))

    def take(self) -> tuple[CappedText, CappedText]:
        """What arrived since the last take. Whatever the worker wrote before it sent its last
        message is in the pipe already, so reading it now misses nothing. With nothing new (a
        cell's usual case) the pipes are not read and the buffers stay."""
        with self._lock:
            if self._pending.poll(0):
                self._read_available()
            out, err = self._buffers.values()
            if not (out.total or err.total):
                return _NOTHING, _NOTHING  # never the live buffers: the thread may write to them any time
            self._buffers = {fd: CappedText(self._limit) for fd in self._fds}
        return out, err

    def close(self, timeout: float = 1.0) -> None:
        """Wait for the pipes to reach end of file (the worker is dead), then close them."""
        self._thread.join(timeout)
        with self._lock:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._open.clear()
