"""How long a full `rlm bench` run at the default sizes takes against the fake provider.

Run: python benchmarks/bench_suite.py [--out DIR] [--jobs 4]
Every task, size (8k, 32k, 128k, 1m tokens) and method (rlm, direct, rlm-no-sub) with n=20, the
scripted policies of tests/fakes/bench_policy.py answering, no added latency. The scores are the
policies' (an illustration of the pipeline), not a measurement of any model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.bench_policy import root_policy, sub_rule
from tests.fakes.provider import FakeProvider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="keep the results here (default: a temporary folder)")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rlm-bench-") as scratch, \
            FakeProvider(root_script=root_policy, sub_rule=sub_rule) as provider:
        out = args.out or Path(scratch)
        command = [sys.executable, "-m", "rlm_cli", "bench", "--model", "openai/root", "--sub-model", "openai/sub",
                   "--api-base", provider.url, "--sandbox", "process", "--jobs", str(args.jobs), "--out", str(out),
                   "--max-iterations", "4", "--quiet", "--note", "scripted fake provider: an illustration, not a result"]
        env = {**os.environ, "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "sk-bench"), "RLM_RETRY_BASE_DELAY": "0.01"}
        started = time.monotonic()
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False)
        wall = time.monotonic() - started
        summary = json.loads((out / "summary.json").read_text())
    print(f"exit {done.returncode}: {summary['runs']} runs in {wall:.0f} s; {len(provider.requests):,} requests served")


if __name__ == "__main__":
    main()
