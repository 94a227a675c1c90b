"""A big log in object storage: `rlm ask s3://bucket/log` against the same log on the local disk.

Run: python benchmarks/remote.py [--size 300M]
A local S3 server (moto's server mode on 127.0.0.1) holds the log; the scripted fake provider's
one cell greps it. Each run is a fresh process (the CLI, or `python -m rlm_cli.ingest` for the
reading alone), over the log and over a one-line log (the fixed cost); for each: wall seconds, CPU
seconds (user + sys of the process tree), and the peak anonymous memory of the tree (the largest
sum of Pss_Anon over its processes, sampled every 25 ms: the spooled or mapped file's pages are
page cache, not counted). The object is streamed to the spool in one GET, so the s3 run's peak
should not grow with the object: near the tiny run's and the local run's. The machine is shared: compare
the ratios, and read the load average printed first.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.huge_file import CELL, LITERAL, RARE, parse_size, run_sampled, write_log  # noqa: E402 (after the path)


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run a command sampled: (wall seconds, CPU seconds of its tree, peak anonymous MB, stdout)."""
    full_env = {**os.environ, **env, "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, peak, done = run_sampled(command, env=full_env, stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stdout.decode()[-500:]} {done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak, done.stdout.decode()


def report(what: str, command: list[str], env: dict[str, str], size: int) -> None:
    seconds, cpu, peak, out = measure(command, env)
    if command[2] == "rlm_cli" and LITERAL not in out:
        raise SystemExit(f"{what}: the answer lacks the rare line: {out[-500:]}")
    print(f"  {what:34}: {seconds:6.2f} s wall, {cpu:6.2f} s CPU (tree), peak anonymous memory {peak:5.0f} MB"
          f" = {peak / (size / 1024**2):.2f}x the log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="300M", help="the log's size (default 300M: past the 256 MiB mapping threshold)")
    args = parser.parse_args()
    from tests.fakes.objectstore import FakeS3
    from tests.fakes.provider import FakeProvider, code, script

    size = parse_size(args.size)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    turns = [code(CELL), code("FINAL(str(hits))")]
    with tempfile.TemporaryDirectory(dir="/tmp") as directory, FakeProvider(root_script=script(*turns)) as provider, FakeS3() as s3:
        log = Path(directory) / "huge.log"
        write_log(log, size)
        started = time.perf_counter()
        url = s3.upload("logs/huge.log", log)
        print(f"{size / 1024**2:,.0f} MiB log ({size:,} bytes), uploaded in {time.perf_counter() - started:.1f} s")
        tiny_url = s3.put("logs/tiny.log", RARE + "\n")
        (Path(directory) / "tiny.log").write_text(RARE + "\n", encoding="utf-8")
        ask = [sys.executable, "-m", "rlm_cli", "ask", "SOURCE", "what failed?", "--quiet",
               "--model", "openai/root", "--sub-model", "openai/sub", "--api-base", provider.url]
        ingest = [sys.executable, "-m", "rlm_cli.ingest", "SOURCE"]
        for what, command, source in (
            ("ingest only, local file", ingest, str(log)), ("ingest only, s3:// object", ingest, url),
            ("rlm ask, tiny local file", ask, str(Path(directory) / "tiny.log")), ("rlm ask, tiny s3:// object", ask, tiny_url),
            ("rlm ask, local file", ask, str(log)), ("rlm ask, s3:// object", ask, url),
        ):
            report(what, [source if part == "SOURCE" else part for part in command], s3.env, size)

if __name__ == "__main__":
    main()
