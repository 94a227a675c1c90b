"""Ingestion speed: rlm's ingest vs a raw read of the same files vs files-to-prompt.

Run: python benchmarks/ingest.py [--repeat 3] [--files 20000]
     python benchmarks/ingest.py --reuse [--files 2000]: the ingest cache, CPU seconds of an
     ingest without it, one that fills it and one that reuses it, on the generated tree and on
     200 larger logs
Trees: a generated tree of --files files and this interpreter's standard library directory.
files-to-prompt is installed from PyPI into its own virtual environment under ~/.cache; it and
`python -m rlm_cli.ingest` are timed as processes, taking turns, best of --repeat each.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.peers import peer_tool
from rlm_cli.ingest import IngestOptions, ingest

WORDS = ["alpha", "beta", "gamma", "delta", "error", "warning", "request", "user", "session", "token", "cache", "index", "query", "value"]


def generate_tree(root: Path, files: int) -> None:
    """A repository-like tree: 1-16 KB text files in nested folders, .gitignore files, some binaries."""
    rng = random.Random(0)
    root.mkdir(parents=True)
    (root / ".gitignore").write_text("*.tmp\nbuild/\n")
    for number in range(files):
        folder = root / f"pkg{number % 40}" / f"mod{number % 13}" / f"sub{number % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        if number % 500 == 0:
            (folder / ".gitignore").write_text("*.bak\n!keep.bak\n")
        if number % 100 == 7:
            (folder / f"blob{number}.bin").write_bytes(rng.randbytes(8192))
            continue
        lines = [
            f"{number}:{line} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
            for line in range(rng.randint(10, 200))
        ]
        suffix = ".tmp" if number % 97 == 0 else ".py"
        (folder / f"file{number}{suffix}").write_text("\n".join(lines) + "\n")


def generate_logs(root: Path, files: int) -> None:
    """Larger text files (about 680 KB each, not ASCII), where reading and decoding dominate."""
    rng = random.Random(0)
    root.mkdir(parents=True)
    line = " ".join(rng.choice(WORDS) for _ in range(12))
    for number in range(files):
        (root / f"app{number}.log").write_text(f"{number} é {line}\n" * 8000)


def raw_read(root: str) -> int:
    """Walk the tree and read every file's bytes, discarding them; returns the bytes read."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    total += len(handle.read())
            except OSError:
                pass
    return total


def run_ingest(root: str, spool: Path) -> dict[str, int]:
    return ingest([root], IngestOptions(), spool_dir=spool).summary()


def best_of(repeat: int, action: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return min(times), result


def files_to_prompt() -> Path | None:
    """The files-to-prompt executable in its own environment (installed on first use)."""
    return peer_tool("files-to-prompt", "files-to-prompt")


def timed_process(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of a command, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def race(repeat: int, commands: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """Best (wall, cpu) of each command; the commands take turns so load changes hit all alike."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for name, command in commands.items():
            best[name] = min(best.get(name, (float("inf"), 0.0)), timed_process(command))
    return best


def measure(name: str, root: str, repeat: int, f2p: Path | None) -> dict[str, float]:
    raw_read(root)  # warm the page cache so every contender reads from memory
    raw_s, raw_bytes = best_of(repeat, lambda: raw_read(root))
    with tempfile.TemporaryDirectory() as spool:
        ingest_s, summary = best_of(repeat, lambda: run_ingest(root, Path(spool)))
    # What `rlm ask` does before it calls a model, as its own process (see rlm_cli/ingest/__main__.py).
    commands = {"ingest": [sys.executable, "-m", "rlm_cli.ingest", root]}
    if f2p is not None:
        commands["f2p"] = [str(f2p), root]
    processes = race(repeat, commands)
    row = {"raw": raw_s, "ingest": ingest_s, "ingest_process": processes["ingest"][0]}
    print(f"\n{name}: {root}")
    print(f"  raw read          {raw_s:7.3f} s  ({raw_bytes / 1e6:,.0f} MB read)")
    print(f"  rlm ingest        {ingest_s:7.3f} s  in-process  ({summary})")
    print(f"  rlm ingest        {processes['ingest'][0]:7.3f} s  python -m rlm_cli.ingest (CPU {processes['ingest'][1]:.3f} s)")
    if f2p is not None:
        row["f2p"] = processes["f2p"][0]
        print(f"  files-to-prompt   {row['f2p']:7.3f} s  files-to-prompt TREE > /dev/null (CPU {processes['f2p'][1]:.3f} s)")
    print(f"  ingest / raw read            {ingest_s / raw_s:5.2f}x  (goal: at most 2x)")
    if "f2p" in row:
        print(f"  files-to-prompt / ingest     {row['f2p'] / row['ingest_process']:5.2f}x  (goal: at least 3x; both as processes)")
    return row


def cpu_s() -> float:
    """User and system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_reuse(root: str, repeat: int) -> None:
    """CPU seconds (best of `repeat`, taking turns) of ingests without, filling and reusing the cache."""
    best = {"no cache": float("inf"), "fills the cache": float("inf"), "reuses it": float("inf")}
    with tempfile.TemporaryDirectory() as scratch:
        spool = Path(scratch)
        for round_ in range(repeat):
            cache = spool / f"cache{round_}"
            for name, reuse in (("no cache", None), ("fills the cache", cache), ("reuses it", cache)):
                started = cpu_s()
                result = ingest([root], IngestOptions(), spool_dir=spool, reuse=reuse)
                best[name] = min(best[name], cpu_s() - started)
    print(f"\ningest cache: {root} ({result.summary()}, {result.reused:,} reused), CPU s, best of {repeat}")
    for name, seconds in best.items():
        print(f"  {name:<16} {seconds:7.3f} s  ({seconds / best['no cache']:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="measure the ingest cache only")
    args = parser.parse_args()
    if args.reuse:
        with tempfile.TemporaryDirectory() as directory:
            tree, logs = Path(directory) / "tree", Path(directory) / "logs"
            generate_tree(tree, args.files)
            generate_logs(logs, 200)
            for root in (tree, logs):
                measure_reuse(str(root), args.repeat)
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, best of {args.repeat}, warm page cache")
    f2p = files_to_prompt()
    if f2p is None:
        print("files-to-prompt could not be installed: that comparison is left out")
    with tempfile.TemporaryDirectory() as directory:
        tree = Path(directory) / "tree"
        generate_tree(tree, args.files)
        measure(f"generated tree ({args.files:,} files)", str(tree), args.repeat, f2p)
    measure("standard library", sysconfig.get_paths()["stdlib"], args.repeat, f2p)


if __name__ == "__main__":
    main()
