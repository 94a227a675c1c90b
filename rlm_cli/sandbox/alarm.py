"""The per-cell timeout inside the REPL: a SIGALRM that raises CellTimeout in the cell.

Time spent waiting for sub-calls does not count: the clock stops while any is in flight.
Standard library only (runs in the worker).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class CellTimeout(BaseException):
    """The cell ran past its time. A BaseException, so `except Exception` does not swallow it."""

    __module__ = "builtins"  # tracebacks shown to the model then name it plainly


class CellAlarm:
    """Arms a timer around a cell; usable only from the main thread (signals are delivered there)."""

    def __init__(self) -> None:
        self.enabled = threading.current_thread() is threading.main_thread()
        self._lock = threading.Lock()
        self._armed = False
        self._in_flight = 0
        self._remaining = 0.0
        self.timeout = 0.0

    def _ring(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            raise CellTimeout(f"the cell ran longer than {self.timeout:g} s and was stopped")

    @contextmanager
    def running(self, timeout: float) -> Iterator[None]:
        """Arm the alarm for the body; it is always disarmed on the way out."""
        self.timeout = timeout
        armed = self.enabled and timeout > 0
        with self._lock:
            self._armed, self._in_flight = armed, 0
        if armed:
            signal.signal(signal.SIGALRM, self._ring)  # again: a cell may have replaced it
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            yield
        finally:
            with self._lock:
                self._armed = False
            if armed:
                signal.setitimer(signal.ITIMER_REAL, 0)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock while a sub-call waits for the host (from any thread)."""
        with self._lock:
            self._in_flight += 1
            if self._armed and self._in_flight == 1:
                self._remaining = signal.setitimer(signal.ITIMER_REAL, 0)[0]
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._armed and self._in_flight == 0:
                    # a zero remainder means the alarm rang just before the pause: ring again now
                    signal.setitimer(signal.ITIMER_REAL, max(self._remaining, 1e-6))
