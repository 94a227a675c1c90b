"""Start-up cost: `rlm --help` against `python -c "import litellm"`, medians of several runs.

Run: python benchmarks/startup.py [--runs N]
Goal: `rlm --help` at least 5x faster than importing litellm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_wall(command: list[str], runs: int) -> float:
    """Median wall time of `command` over `runs` runs (after one warm-up run)."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    subprocess.run(command, capture_output=True, check=True, env=env)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rlm = str(Path(sys.executable).with_name("rlm"))
    help_s = median_wall([rlm, "--help"], args.runs)
    import_s = median_wall([sys.executable, "-c", "import litellm"], args.runs)
    print(f"rlm --help             median {help_s * 1000:8.1f} ms")
    print(f"python -c 'import litellm' median {import_s * 1000:8.1f} ms")
    print(f"ratio                  {import_s / help_s:8.1f}x (goal: >= 5x)")


if __name__ == "__main__":
    main()
