"""CPU per REPL cell and per worker start, this tree against another checkout, taking turns.

Run: python benchmarks/repl_cpu.py --baseline DIR [--rounds 3] [--cells 2000] [--starts 10]
     [--modes bwrap,process] [--compile]

Wall clocks mislead on a shared machine; CPU seconds hold better. Each round runs a probe
process per tree and mode (this file with `--probe`, `rlm_cli` imported from that tree; its
worker comes from the same tree). The probe times `--starts` worker starts (Sandbox.start() until
ready; CPU of the host and of the live worker tree, bwrap included, from /proc in clock ticks) and
`--cells` empty cells and cells with one sub-call (CPU of the host alone, and of the host plus
its live worker tree from /proc). The broker answers at once. With PYTHONDONTWRITEBYTECODE set
and no __pycache__, every process compiles rlm_cli from source; `--compile` writes the bytecode
first, as an installed wheel has it. Figures are medians over rounds;
the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    ("start_wall", "worker start, wall", "ms"),
    ("start_cpu", "worker start, CPU (host + worker, mean)", "ms"),
    ("empty_wall", "empty cell, wall", "ms"),
    ("empty_host", "empty cell, host CPU", "ms"),
    ("empty_worker", "empty cell, worker CPU", "ms"),
    ("call_wall", "cell + 1 sub-call, wall", "ms"),
    ("call_host", "cell + 1 sub-call, host CPU", "ms"),
    ("call_worker", "cell + 1 sub-call, worker CPU", "ms"),
)


def probe(mode: str, cells: int, starts: int) -> dict[str, float]:
    """Run in a child whose `rlm_cli` comes from the tree being measured."""
    sys.path.append(str(ROOT))  # benchmarks.cputime, after the measured tree's rlm_cli
    from benchmarks.cputime import tree_cpu
    from rlm_cli.sandbox import Sandbox, SandboxConfig

    class Broker:
        def llm_query(self, prompt: str, model: str | None = None, tools: list[str] | None = None) -> str:
            return ""

    Sandbox(SandboxConfig(mode=mode), Broker()).close()  # warm the caches and the bwrap probe
    first = Sandbox(SandboxConfig(mode=mode), Broker())
    first.start()
    first.close()
    walls, cpus = [], []
    for _ in range(starts):
        sandbox = Sandbox(SandboxConfig(mode=mode), Broker())
        before, started = tree_cpu(os.getpid()), time.perf_counter()
        sandbox.start()
        walls.append(time.perf_counter() - started)
        cpus.append(tree_cpu(os.getpid()) - before)  # the worker is alive: its CPU is the start's
        sandbox.close()
    figures = {"start_wall": statistics.median(walls) * 1000, "start_cpu": sum(cpus) / len(cpus) * 1000}
    with Sandbox(SandboxConfig(mode=mode), Broker()) as sandbox:
        for key, code in (("empty", "pass"), ("call", "llm_query('')")):
            for _ in range(20):
                sandbox.execute(code)
            host, tree, started = os.times(), tree_cpu(os.getpid()), time.perf_counter()
            for _ in range(cells):
                sandbox.execute(code)
            wall = time.perf_counter() - started
            host_after, tree_after = os.times(), tree_cpu(os.getpid())
            host_cpu = (host_after.user + host_after.system) - (host.user + host.system)
            figures[f"{key}_wall"] = wall / cells * 1000
            figures[f"{key}_host"] = host_cpu / cells * 1000
            figures[f"{key}_worker"] = ((tree_after - tree) - host_cpu) / cells * 1000
    return figures


def run_probe(tree: Path, mode: str, cells: int, starts: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, __file__, "--probe", mode, "--cells", str(cells), "--starts", str(starts)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (its rlm_cli is measured)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--modes", default="bwrap,process")
    parser.add_argument("--compile", action="store_true", help="write each tree's bytecode first, as pip does when it installs a wheel")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.cells, args.starts)))
        return
    trees = {"this tree": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    if args.compile:
        for tree in trees.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "rlm_cli")], check=True)
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for mode in args.modes.split(","):
            for name, tree in (reversed(trees.items()) if _ % 2 else trees.items()):  # alternate who goes first
                results.setdefault((mode, name), []).append(run_probe(tree, mode, args.cells, args.starts))
                loads.append(os.getloadavg()[0])
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, {args.cells} cells and {args.starts} starts a probe; "
          f"load average (1 min) {min(loads):.1f}-{max(loads):.1f}, median {statistics.median(loads):.1f}")
    names = list(trees)
    print(f"{'mode':8} {'figure (median over rounds)':36}" + "".join(f"{n:>12}" for n in names) + ("       ratio" if len(names) == 2 else ""))
    for mode in args.modes.split(","):
        for key, label, unit in FIGURES:
            values = [statistics.median(r[key] for r in results[(mode, n)]) for n in names]
            ratio = f"{values[0] / values[1]:11.2f}x" if len(values) == 2 and values[1] > 0 else ""
            print(f"{mode:8} {label:36}" + "".join(f"{v:9.3f} {unit}" for v in values) + ratio)


if __name__ == "__main__":
    main()
