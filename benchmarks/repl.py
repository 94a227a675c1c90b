"""REPL round trips per sandbox mode: worker start, an empty cell, a cell making one sub-call.

Run: python benchmarks/repl.py [--cells 300] [--starts 15] [--modes bwrap,process,none]
The broker answers at once, so the sub-call figure is the channel's cost, not a model's.
Worker start is Sandbox.start() with no corpus (mapping a corpus is the ingestion's figure).
Goals: an empty cell under 5 ms, a worker start under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox import Sandbox, SandboxConfig, resolve_mode


class NoOpBroker:
    """Answers every sub-call immediately."""

    def llm_query(self, prompt: str, model: str | None = None, tools: list[str] | None = None) -> str:
        return ""

    def llm_batch(self, prompts: list[str], model: str | None = None, tools: list[str] | None = None) -> list[str]:
        return [""] * len(prompts)

    def rlm_query(self, prompt: str, context: str | None = None) -> str:
        return ""


def timed(action: Callable[[], object], repeats: int) -> list[float]:
    """Wall times in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"median {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms"


def start_times(mode: str, repeats: int) -> list[float]:
    """Milliseconds from Sandbox.start() until the worker reported ready; closing not counted."""
    times = []
    for _ in range(repeats):
        sandbox = Sandbox(SandboxConfig(mode=mode), NoOpBroker())
        times += timed(sandbox.start, 1)
        sandbox.close()
    return times


def bench(mode: str, cells: int, starts: int) -> None:
    start_times(mode, 1)  # warm the file cache and the bwrap probe
    print(f"{mode:8} worker start        {summary(start_times(mode, starts))}")
    with Sandbox(SandboxConfig(mode=mode), NoOpBroker()) as sandbox:
        sandbox.execute("pass")
        print(f"{mode:8} empty cell          {summary(timed(lambda: sandbox.execute('pass'), cells))}")
        noop = "llm_query('')"
        print(f"{mode:8} cell + 1 sub-call   {summary(timed(lambda: sandbox.execute(noop), cells))}")
        batch = "llm_batch([''] * 20)"
        print(f"{mode:8} cell + batch of 20  {summary(timed(lambda: sandbox.execute(batch), cells))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--starts", type=int, default=15)
    parser.add_argument("--modes", default="bwrap,process,none")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, auto resolves to {resolve_mode('auto')}")
    for mode in args.modes.split(","):
        try:
            bench(mode, args.cells, args.starts)
        except SandboxError as error:
            print(f"{mode:8} unavailable: {error.message}")
    print("goals: empty cell < 5 ms, worker start < 300 ms")


if __name__ == "__main__":
    main()
