"""`rlm replay`: a past run's tree, at its final state or re-played with its original timing.

Imports `events` and the tree renderers; the trace is read by the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console

from rlm_cli.events import Event
from rlm_cli.render.calls import View
from rlm_cli.render.live import TreeRenderer
from rlm_cli.render.state import RunState
from rlm_cli.render.tree import run_view
from rlm_cli.result import RunResult
from rlm_cli.termsafe import visible_event

MAX_GAP_S = 2.0  # a replay never sits still longer than this, whatever the original pause


def print_final_tree(events: list[Event], console: Console, *, verbose: bool = False) -> None:
    """Print the tree as it stood when the run ended (the same tree the run left on screen)."""
    state = RunState()
    for event in events:
        state.apply(visible_event(event))
    console.print(run_view(state, View(now=state.last_ts, verbose=verbose, final=True)))


def replay_live(
    events: list[Event],
    console: Console,
    *,
    speed: float = 10.0,
    verbose: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Feed the events to a live tree, waiting the original gaps divided by `speed`."""
    clock = _TraceClock(events[0].ts, speed)
    renderer = TreeRenderer(console, verbose=verbose, clock=clock.now)
    for event in events:
        wait = min(MAX_GAP_S, max(0.0, event.ts - clock.trace_ts) / speed)
        if wait:
            sleep(wait)
        clock.reach(event.ts)
        renderer.handle(visible_event(event))
    renderer.close(RunResult())


class _TraceClock:
    """Trace time while replaying: the last event's time plus sped-up wall time since it."""

    def __init__(self, start: float, speed: float) -> None:
        self.trace_ts = start
        self.speed = speed
        self._wall = time.monotonic()

    def reach(self, ts: float) -> None:
        self.trace_ts = max(self.trace_ts, ts)
        self._wall = time.monotonic()

    def now(self) -> float:
        return self.trace_ts + (time.monotonic() - self._wall) * self.speed
