"""TreeRenderer: the live Rich tree on stderr, redrawn from state at a bounded rate.

Events may arrive from several threads at once: they are folded into a RunState under a lock, and
the Live refresh thread builds a fresh tree from it (never the event threads).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rich.console import Console, RenderableType
from rich.live import Live

from rlm_cli.events import Event
from rlm_cli.render.calls import View
from rlm_cli.render.fit import FitHeight
from rlm_cli.render.state import RunState
from rlm_cli.render.tree import run_view
from rlm_cli.result import RunResult

REFRESH_PER_SECOND = 8.0


class TreeRenderer:
    """Live tree while the run goes; the full final tree stays on screen after `close`."""

    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
        refresh_per_second: float = REFRESH_PER_SECOND,
        origin: float | None = None,
    ) -> None:
        self.console = console
        self.verbose = verbose
        self.clock = clock
        self.origin = origin  # the zero of the root run's elapsed time (process start)
        self.state = RunState()
        self._lock = threading.Lock()  # the state, and _final
        # Starting and stopping the Live, in order. Separate from _lock: Live.start and Live.stop
        # draw, and drawing takes _lock.
        self._display_lock = threading.Lock()
        self._started = False
        self._closed = False
        self._final = False
        self._live = Live(
            get_renderable=self._view, console=console, refresh_per_second=refresh_per_second,
            transient=False, redirect_stdout=False, redirect_stderr=True,
        )

    def handle(self, event: Event) -> None:
        """Fold one event in; the first one starts the display."""
        with self._lock:
            self.state.apply(event)
        if self._started:
            return
        with self._display_lock:
            if not self._started and not self._closed:  # an event after close starts nothing
                self._live.start()
                self._started = True

    def close(self, result: RunResult) -> None:
        """Stop the display, leaving the final tree (drawn from events alone, as a replay is)."""
        with self._lock:
            self._final = True
        with self._display_lock:
            if self._closed:
                return
            self._closed = True
            if self._started:
                self._live.stop()
                if not self.console.is_terminal:  # Live ends a terminal's last line itself
                    self.console.line()

    def _view(self) -> RenderableType:
        with self._lock:
            view = View(now=self.clock(), verbose=self.verbose, final=self._final, origin=self.origin)
            drawn = run_view(self.state, view)
        return drawn if self._final else FitHeight(drawn)
