"""Daemon threads kept between jobs, so serving a sub-call does not start a thread each time.

`concurrent.futures.ThreadPoolExecutor` cannot serve here: it caps its threads, and it joins
them at exit, so a sub-call still waiting on a model would hold the exit up.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable


class DaemonThreads:
    """Runs every job at once on a daemon thread: an idle one when there is one, else a new
    one. A job starts in an empty context, as on a new thread; idle threads wait for work."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._forget()
        os.register_at_fork(after_in_child=self._forget)  # a fork has none of these threads

    def _forget(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads that took no job yet since their last one ended

    def run(self, job: Callable[[], object]) -> None:
        """Start `job` now on a thread of its own (its outcome is the job's business)."""
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._serve, name=self._name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            contextvars.Context().run(self._jobs.get())
            with self._lock:
                self._idle += 1
