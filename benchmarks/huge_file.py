"""A huge single input: ingest time, peak RSS of the process holding the corpus, and a grep.

Run: python benchmarks/huge_file.py [--gib 2]
Writes a generated log of --gib GiB to a temporary directory (deleted afterwards). The corpus is
held by a fresh child process, as the REPL worker would hold it, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RARE = "2025-03-14T03:12:09.511Z FATAL deploy: migration 0042 failed: lock timeout on table users"


def write_log(path: Path, size: int) -> None:
    """size bytes of ordinary log lines, with RARE once, at two thirds of the way."""
    lines = [
        f"2025-03-14T03:{minute:02d}:{second:02d}.000Z INFO api request_id={minute * 60 + second:08x} "
        f"route=/v1/items/{second} status=200 latency_ms={(minute * 7 + second) % 250}\n"
        for minute in range(60) for second in range(60)
    ]
    block = "".join(lines).encode() * 16
    with path.open("wb") as out:
        written = 0
        while written < size:
            if written <= size * 2 // 3 < written + len(block):
                out.write((RARE + "\n").encode())
            out.write(block)
            written += len(block)


def child(path: str, spool: str) -> None:
    """Ingest, load the manifest as the worker does, grep; print the figures as JSON."""
    from rlm_cli.corpus import load_manifest
    from rlm_cli.ingest import IngestOptions, ingest

    started = time.perf_counter()
    result = ingest([path], IngestOptions(), spool_dir=Path(spool))
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    context = load_manifest(result.manifest_path)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    matches = context.grep("FATAL deploy")
    grep_s = time.perf_counter() - started
    grep_rss = _peak_rss_mb()
    started = time.perf_counter()
    middle = context[len(context) // 2 : len(context) // 2 + 200]
    slice_s = time.perf_counter() - started
    started = time.perf_counter()
    count = context.count("status=200")
    count_s = time.perf_counter() - started
    print(json.dumps({
        "ingest_s": ingest_s, "load_manifest_s": load_s, "grep_s": grep_s, "matches": len(matches),
        "match": str(matches[0]) if matches else None, "slice_s": slice_s, "slice_chars": len(middle),
        "count_s": count_s, "count": count, "characters": len(context),
        "peak_rss_after_grep_mb": grep_rss, "peak_rss_mb": _peak_rss_mb(),
    }))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "huge.log"
        started = time.perf_counter()
        write_log(log, int(args.gib * 1024**3))
        print(f"wrote {log.stat().st_size / 1024**3:.2f} GiB in {time.perf_counter() - started:.1f} s")
        command = [sys.executable, __file__, "--child", str(log), str(Path(directory) / "spool")]
        figures = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    print(f"ingest                {figures['ingest_s']:8.3f} s   (goal: under 1 s)")
    print(f"load_manifest         {figures['load_manifest_s']:8.3f} s")
    print(f"first grep (scan)     {figures['grep_s']:8.3f} s   {figures['matches']} match: {figures['match']}")
    print(f"slice after the scan  {figures['slice_s']:8.3f} s   ({figures['slice_chars']} characters from the middle)")
    print(f"count('status=200')   {figures['count_s']:8.3f} s   ({figures['count']:,})")
    print(f"peak RSS after grep   {figures['peak_rss_after_grep_mb']:8.1f} MB")
    print(f"peak RSS at the end   {figures['peak_rss_mb']:8.1f} MB  (goal: under 300 MB; {figures['characters']:,} characters mapped)")


if __name__ == "__main__":
    main()
