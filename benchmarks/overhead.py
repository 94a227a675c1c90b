"""Engine overhead per turn, model latency excluded.

Run: python benchmarks/overhead.py [--turns 30] [--sandbox process]
A scripted run of N cheap turns against the fake provider (no added latency); the overhead is the
run's wall time minus the time spent inside model calls, divided by the turns. It covers prompt
building, the REPL round trip of the turn's cell, events and answer bookkeeping.
Goal: under 30 ms per turn.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_cli.api import ask
from rlm_cli.events import Event, ModelReplied, RunFinished, TurnStarted
from tests.fakes.provider import FakeProvider, code, script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--sandbox", default="process")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    turns = [code(f"x = {i}", "print(x, len(context))") for i in range(args.turns - 1)]
    turns.append(code("FINAL('done')"))
    events: list[Event] = []
    with tempfile.TemporaryDirectory() as folder, FakeProvider(root_script=script(*turns)) as provider:
        source = Path(folder) / "input.txt"
        source.write_text("some input\n" * 1000)
        started = time.perf_counter()
        result = ask("q?", [str(source)], model="openai/root", api_base=provider.url, progress="none",
                     trace=False, sandbox=args.sandbox, max_iterations=args.turns, on_event=events.append)
        wall = time.perf_counter() - started
    model_time = sum(e.latency_s for e in events if isinstance(e, ModelReplied))
    first_turn = next(e.ts for e in events if isinstance(e, TurnStarted))
    finished = next(e.ts for e in events if isinstance(e, RunFinished))
    loop = finished - first_turn
    turns_run = result.iterations
    print(f"turns {turns_run}, exit {result.exit_code}, sandbox {args.sandbox}")
    print(f"whole run {wall:.3f} s (with ingestion and worker start), turn loop {loop:.3f} s, inside model calls {model_time:.3f} s")
    print(f"overhead per turn {(loop - model_time) / turns_run * 1000:.1f} ms (goal < 30 ms)")


if __name__ == "__main__":
    main()
