"""Fan-out: one llm_batch of 200 prompts against the fake provider (0.5 s latency), concurrency 16.

Run: python benchmarks/fanout.py [--prompts 200] [--latency 0.5] [--concurrency 16]
Goal: wall time within 1.15x of the ideal ceil(prompts / concurrency) x latency, and never more
than `concurrency` requests in flight. The batch goes through the real path: a REPL cell calls
llm_batch, the sandbox sends it to the host broker, the broker calls LiteLLM over HTTP.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlm_cli.broker import Broker, SubcallSettings
from rlm_cli.budget import Budget, Limits
from rlm_cli.failures import Failures
from rlm_cli.llm import LLMClient
from rlm_cli.sandbox import Sandbox, SandboxConfig
from tests.fakes.provider import FakeProvider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sandbox", default="process")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    with FakeProvider(sub_latency=args.latency, sub_rule=lambda request: "ok") as provider:
        llm = LLMClient(api_base=provider.url)
        llm.complete("openai/sub", [{"role": "user", "content": "warm-up"}])
        provider.requests.clear()
        provider.max_in_flight = 0
        broker = Broker(
            run_id="bench", llm=llm, budget=Budget(Limits()),
            settings=SubcallSettings(sub_model="openai/sub", sub_window_tokens=100_000, can_recurse=False),
            gate=threading.BoundedSemaphore(args.concurrency), concurrency=args.concurrency,
            emit=lambda event: None, failures=Failures(),
        )
        code = f"answers = llm_batch([f'prompt {{i}}' for i in range({args.prompts})])\nprint(len(answers), answers[0])"
        with Sandbox(SandboxConfig(mode=args.sandbox), broker) as sandbox:
            started = time.perf_counter()
            result = sandbox.execute(code)
            wall = time.perf_counter() - started
    ideal = math.ceil(args.prompts / args.concurrency) * args.latency
    print(f"cell output: {result.stdout.strip()!r}  error: {result.error}")
    print(f"prompts {args.prompts}, latency {args.latency} s, concurrency {args.concurrency}, sandbox {args.sandbox}")
    print(f"wall {wall:.3f} s, ideal {ideal:.3f} s, ratio {wall / ideal:.3f} (goal <= 1.15)")
    print(f"max in flight {provider.max_in_flight} (goal <= {args.concurrency}), requests {len(provider.requests)}")


if __name__ == "__main__":
    main()
