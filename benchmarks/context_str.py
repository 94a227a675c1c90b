"""`context` as a real str: speed against the previous lazy form, and the REPL worker's peak memory.

Run: python benchmarks/context_str.py [--mb 200] [--files 2000] [--repeat 3]

Speed: ingest, then what the worker does (load the manifest, first grep, a second grep), for a
generated tree of --files files and a single --mb MB log. The previous form is the package as of
BASELINE, unpacked with `git archive` into a temporary directory; each form runs in fresh
processes, the two taking turns, best of --repeat. Goal: the str form at most 10% slower.
Memory: a real REPL worker (`--sandbox process`) holding the single --mb MB input runs
`re.findall` over `context` (the previous form: `context.grep`, as re cannot take it); its own
peak RSS (ru_maxrss, read in the worker) against the input's size. Goal: under 2.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from huge_file import RARE, write_log

REPO = Path(__file__).resolve().parents[1]
BASELINE = "1b4808d"  # the last commit with the TextLike Corpus
PATTERN = "FATAL deploy"
WORDS = ["alpha", "beta", "gamma", "delta", "error", "warning", "request", "user", "session", "token"]


def write_tree(root: Path, files: int) -> None:
    """Source-like files of 2-20 KB in nested folders, RARE in one of them."""
    rng = random.Random(0)
    for number in range(files):
        folder = root / f"pkg{number % 20}" / f"mod{number % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{number}:{line} " + " ".join(rng.choices(WORDS, k=rng.randint(3, 14))) for line in range(rng.randint(40, 400))]
        if number == files // 2:
            lines.append(RARE)
        (folder / f"file{number}.py").write_text("\n".join(lines) + "\n")


def speed_child(source: str, spool: str) -> None:
    """In a fresh process: ingest, load the manifest as the worker does, grep twice; JSON out."""
    from rlm_cli.corpus import load_manifest
    from rlm_cli.ingest import IngestOptions, ingest

    started = time.perf_counter()
    result = ingest([source], IngestOptions(), spool_dir=Path(spool))
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    context = load_manifest(result.manifest_path)
    first = context.grep(PATTERN)  # the previous form reads the files here
    load_grep_s = time.perf_counter() - started
    started = time.perf_counter()
    second = context.grep(PATTERN)
    grep_s = time.perf_counter() - started
    assert len(first) == len(second) == 1, (first, second)
    print(json.dumps({
        "ingest": ingest_s, "load_and_first_grep": load_grep_s, "grep": grep_s,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


WORKER_CELL = (
    "import re, resource\n"
    f"hits = len(re.findall({PATTERN!r}, context)) if isinstance(context, str) else len(context.grep({PATTERN!r}))\n"
    "print(hits, type(context).__name__, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def worker_child(source: str, spool: str) -> None:
    """In a fresh process: ingest, start a real REPL worker on the manifest, run WORKER_CELL."""
    from rlm_cli.ingest import IngestOptions, ingest
    from rlm_cli.sandbox import Sandbox, SandboxConfig

    class NoBroker:
        def llm_query(self, *_: object, **__: object) -> str:
            return ""

        llm_batch = rlm_query = llm_query

    result = ingest([source], IngestOptions(), spool_dir=Path(spool))
    config = SandboxConfig(
        mode="process", manifest_path=result.manifest_path, readable_paths=tuple(Path(root) for root in result.roots),
    )
    with Sandbox(config, NoBroker()) as sandbox:  # type: ignore[arg-type]
        started = time.perf_counter()
        outcome = sandbox.execute(WORKER_CELL)
        cell_s = time.perf_counter() - started
    hits, kind, peak_kib = outcome.stdout.split()
    print(json.dumps({"hits": int(hits), "kind": kind, "peak_mb": int(peak_kib) / 1024, "cell_s": cell_s}))


def run_child(package_root: Path, kind: str, source: Path, spool: Path) -> dict[str, float]:
    """Run a child of this script with `package_root`'s rlm_cli first on the path."""
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    command = [sys.executable, __file__, "--child", kind, str(source), str(spool)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def baseline_tree(directory: Path) -> Path:
    """The package as of BASELINE, unpacked under `directory`."""
    directory.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE, "rlm_cli"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def compare(name: str, source: Path, work: Path, roots: dict[str, Path], repeat: int) -> None:
    best: dict[str, dict[str, float]] = {form: {} for form in roots}
    for turn in range(repeat):
        for form, root in roots.items():
            figures = run_child(root, "speed", source, work / f"spool-{form}-{turn}")
            for key, value in figures.items():
                best[form][key] = min(best[form].get(key, float("inf")), value)
    print(f"\n{name}")
    for key, label in (("ingest", "ingest (host)"), ("load_and_first_grep", "load manifest + first grep"), ("grep", "second grep")):
        old, new = best["previous"][key], best["str"][key]
        print(f"  {label:28} previous {old:7.3f} s   str {new:7.3f} s   ratio {new / old:5.2f}x  (goal <= 1.10x)")
    print(f"  {'peak RSS of that process':28} previous {best['previous']['rss_mb']:7.1f} MB  str {best['str']['rss_mb']:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, source, spool = args.child
        (speed_child if kind == "speed" else worker_child)(source, spool)
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, best of {args.repeat}; previous form: {BASELINE}")
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        roots = {"previous": baseline_tree(work / "baseline"), "str": REPO}
        tree, log = work / "tree", work / "big.log"
        write_tree(tree, args.files)
        write_log(log, args.mb * 1_000_000)
        size = log.stat().st_size
        compare(f"tree: {args.files:,} files", tree, work, roots, args.repeat)
        compare(f"single input: {size / 1e6:.0f} MB log", log, work, roots, args.repeat)
        print(f"\nREPL worker holding the {size / 1e6:.0f} MB log (sandbox process), one cell:")
        for form, root in roots.items():
            figures = run_child(root, "worker", log, work / f"spool-worker-{form}")
            print(
                f"  {form:9} context is {figures['kind']:10} peak RSS {figures['peak_mb']:7.1f} MB = "
                f"{figures['peak_mb'] * 1024**2 / size:4.2f}x the input  (goal < 2.5x; cell {figures['cell_s']:.2f} s, {figures['hits']} hit)"
            )


if __name__ == "__main__":
    main()
