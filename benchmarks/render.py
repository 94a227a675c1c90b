"""Rendering cost: CPU seconds for renderers consuming a 10,000-event stream, and per-frame cost.

Run: .venv/bin/python benchmarks/render.py   (goal: the live tree under 1 s of CPU for 10k events)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from rlm_cli.events import Event
from rlm_cli.render.calls import View
from rlm_cli.render.fit import FitHeight
from rlm_cli.render.live import TreeRenderer
from rlm_cli.render.plain import PlainRenderer
from rlm_cli.render.state import RunState
from rlm_cli.render.tree import run_view
from rlm_cli.result import RunResult
from rlm_cli.trace import TraceWriter
from tests.unit.render_streams import long_stream

EVENTS = 10_000
REPEATS = 5


def terminal() -> Console:
    """A 120x40 colour terminal that writes into memory."""
    return Console(file=StringIO(), width=120, height=40, force_terminal=True, color_system="truecolor")


def cpu(feed: Callable[[], None]) -> float:
    """Best process CPU time (all threads, so the Live refresh thread counts) over REPEATS."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        feed()
        best = min(best, time.process_time() - start)
    return best


def through(make: Callable[[], object], events: list[Event]) -> Callable[[], None]:
    def feed() -> None:
        renderer = make()
        for event in events:
            renderer.handle(event)  # type: ignore[attr-defined]
        renderer.close(RunResult())  # type: ignore[attr-defined]

    return feed


def paced(events: list[Event], seconds: float) -> Callable[[], None]:
    """The live tree fed over `seconds` of wall time, so the refresh thread draws ~8 frames/s."""
    def feed() -> None:
        renderer = TreeRenderer(terminal())
        gap = seconds / len(events)
        for i, event in enumerate(events):
            renderer.handle(event)
            if i % 100 == 0:
                time.sleep(gap * 100)
        renderer.close(RunResult())

    return feed


def frame_ms(events: list[Event]) -> float:
    """Milliseconds to build and draw one live frame of the run at its busiest (mid-run)."""
    state = RunState()
    for event in events[: len(events) // 2]:
        state.apply(event)
    console = terminal()
    start = time.process_time()
    for _ in range(50):
        console.print(FitHeight(run_view(state, View(now=state.last_ts))))
    return (time.process_time() - start) / 50 * 1000


def main() -> None:
    events = long_stream(EVENTS)[:EVENTS]
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "t.jsonl"
        rows = [
            ("live tree, fed as fast as possible", cpu(through(lambda: TreeRenderer(terminal()), events))),
            ("live tree, fed over 3 s (about 24 frames)", cpu(paced(events, 3.0))),
            ("plain lines", cpu(through(lambda: PlainRenderer(StringIO()), events))),
            ("trace writer (JSONL, flushed per line)", cpu(through(lambda: TraceWriter(trace), events))),
        ]
    print(f"{len(events)} events ({sum(e.__class__.__name__ == 'SubcallFinished' for e in events)} sub-calls), best of {REPEATS}")
    print("| renderer | CPU seconds |")
    print("| --- | --- |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")
    ms = frame_ms(events)
    print(f"\none live frame mid-run: {ms:.1f} ms of CPU; at 8 frames/s that is {ms * 8 / 10:.1f}% of one core")


if __name__ == "__main__":
    main()
