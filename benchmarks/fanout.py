"""Fan-out: one llm_batch against the fake provider, beside the official RLM package in the same run.

Run: python benchmarks/fanout.py [--prompts 1000] [--latency 0.2] [--concurrency 64 ...] [--no-peer]
     python benchmarks/fanout.py --prompts 10000 --concurrency 64 256      (the 10,000-call runs)
     python benchmarks/fanout.py --before DIR    (also rlm from DIR, e.g. `git archive` of an older commit)

The batch goes through the real path: a REPL cell calls llm_batch, the sandbox sends it to the
host broker, the broker calls LiteLLM over HTTP. Each run and the fake have a process of their
own, so the host CPU counted (user + sys of the run's process and its sandbox worker, over the
batch) is rlm's alone; peak memory is the run's process's. The official
package (PyPI `rlms`, its own venv, see fanout_rlms.py) drives its llm_query_batched against the
same fake. A bare loop of litellm.completion calls gives LiteLLM's own floor per call.
Goals: wall within 1.15x of the ideal ceil(prompts / concurrency) x latency, the concurrency
reached, under 2 host CPU seconds per 1,000 calls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peers import peer_python  # noqa: E402

FLOOR_CALLS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64])
    parser.add_argument("--sandbox", default="process")
    parser.add_argument("--no-peer", action="store_true", help="skip the official package")
    parser.add_argument("--before", type=Path, help="an rlm source tree to measure too (its rlm_cli/)")
    parser.add_argument("--serve", type=float, metavar="LATENCY", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        return serve(args.serve)
    if args.measure is not None:
        source, url, prompts, concurrency, sandbox = args.measure
        sys.path.insert(0, source)
        print(json.dumps(measure(url, int(prompts), int(concurrency), sandbox)))
        return None
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    with Fake(args.latency) as fake:
        floor = litellm_floor(fake)
        print(f"LiteLLM floor: {floor['bare']:.2f} ms CPU per litellm.completion, {floor['client']:.2f} ms per LLMClient.complete ({FLOOR_CALLS} calls in a row)")
        python = None if args.no_peer else peer_python("rlms")
        for concurrency in args.concurrency:
            ideal = math.ceil(args.prompts / concurrency) * args.latency
            print(f"\n{args.prompts} calls, concurrency {concurrency}, latency {args.latency} s: ideal {ideal:.2f} s")
            if args.before is not None:
                report("rlm before", run_ours(fake, args.before, args.prompts, concurrency, args.sandbox), args.prompts, ideal)
            report("rlm", run_ours(fake, ROOT, args.prompts, concurrency, args.sandbox), args.prompts, ideal)
            if python is not None:
                report("official rlms", run_peer(fake, python, args.prompts, concurrency), args.prompts, ideal)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def report(name: str, row: dict[str, Any], prompts: int, ideal: float) -> None:
    print(
        f"  {name:14} wall {row['wall']:7.2f} s ({row['wall'] / ideal:.2f}x ideal)  "
        f"CPU {row['cpu'] / prompts * 1000:6.2f} s per 1,000 calls  peak {row['peak'] / 2**20:5.0f} MiB  "
        f"max in flight {row['in_flight']}  failed {row['failed']}  {row.get('extra', '')}"
    )


# the fake provider, in a process of its own ------------------------------------------------------
class Fake:
    """The fake provider in a child process: `reset()` its counters, `stats()` reads them."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __enter__(self) -> Fake:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,  # a client that hangs up leaves a traceback there
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def reset(self) -> None:
        self.ask("reset")

    def stats(self) -> dict[str, Any]:
        return self.ask("stats")

    def set_latency(self, seconds: float) -> None:
        self.ask(f"latency {seconds}")


def serve(latency: float) -> None:
    from tests.fakes.provider import FakeProvider

    with FakeProvider(latency=latency, sub_latency=latency, sub_rule=lambda request: "ok") as provider:
        print(provider.url, flush=True)
        for line in sys.stdin:
            command, *value = line.split()
            if command == "reset":
                provider.requests.clear()
                provider.max_in_flight = 0
                print("{}", flush=True)
            elif command == "latency":
                provider.latency = provider.sub_latency = float(value[0])
                print("{}", flush=True)
            else:
                print(json.dumps({"max_in_flight": provider.max_in_flight, "requests": len(provider.requests)}), flush=True)


# the runs -----------------------------------------------------------------------------------------
def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def litellm_floor(fake: Fake) -> dict[str, float]:
    """ms of CPU per call: LiteLLM's own completion() in a bare loop, and our client's call."""
    from rlm_cli.llm import LLMClient, litellm_module, quiet_litellm

    litellm = litellm_module()
    client = LLMClient(api_base=fake.url)
    message = [{"role": "user", "content": "floor"}]
    with quiet_litellm():
        client.complete("openai/sub", message)
        fake.set_latency(0.0)
        started = cpu_seconds(resource.RUSAGE_SELF)
        for _ in range(FLOOR_CALLS):
            litellm.completion(model="openai/sub", messages=message, api_base=fake.url, api_key="sk-bench", max_retries=0, max_tokens=8192)
        bare = cpu_seconds(resource.RUSAGE_SELF) - started
        started = cpu_seconds(resource.RUSAGE_SELF)
        for _ in range(FLOOR_CALLS):
            client.complete("openai/sub", message)
        ours = cpu_seconds(resource.RUSAGE_SELF) - started
        fake.set_latency(fake.latency)
    return {"bare": bare / FLOOR_CALLS * 1000, "client": ours / FLOOR_CALLS * 1000}


def run_ours(fake: Fake, source: Path, prompts: int, concurrency: int, sandbox: str) -> dict[str, Any]:
    """One batch by rlm from `source`, in a process of its own."""
    fake.reset()
    done = subprocess.run([sys.executable, __file__, "--measure", str(source), fake.url, str(prompts), str(concurrency), sandbox],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"wall": float("nan"), "cpu": float("nan"), "peak": 0, "in_flight": 0, "failed": prompts, "extra": done.stderr.strip()[-300:]}
    row = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    row["in_flight"] = fake.stats()["max_in_flight"]
    return row


def measure(url: str, prompts: int, concurrency: int, sandbox_mode: str) -> dict[str, Any]:
    """The batch, run here: wall, CPU of this process and its sandbox worker, peak RSS."""
    import threading

    from rlm_cli.broker import Broker, SubcallSettings
    from rlm_cli.budget import Budget, Limits
    from rlm_cli.failures import Failures
    from rlm_cli.llm import LLMClient, quiet_litellm
    from rlm_cli.sandbox import Sandbox, SandboxConfig

    try:
        from rlm_cli.concurrency import AdaptiveLimit

        gate: Any = AdaptiveLimit(concurrency)
    except ImportError:  # a tree from before the adaptive limit
        gate = threading.BoundedSemaphore(concurrency)
    events: list[object] = []
    llm = LLMClient(api_base=url)
    broker = Broker(
        run_id="bench", llm=llm, budget=Budget(Limits()),
        settings=SubcallSettings(sub_model="openai/sub", sub_window_tokens=100_000, can_recurse=False),
        gate=gate, concurrency=concurrency, emit=events.append, failures=Failures(),
    )
    code = f"answers = llm_batch([f'prompt {{i}}' for i in range({prompts})])\nprint(len(answers), sum(a.startswith('Error') for a in answers))"
    with quiet_litellm():
        llm.complete("openai/sub", [{"role": "user", "content": "warm-up"}])
        cpu = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN)
        with Sandbox(SandboxConfig(mode=sandbox_mode), broker) as sandbox:
            started = time.perf_counter()
            result = sandbox.execute(code)
            wall = time.perf_counter() - started
            broker.stop()
    cpu = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    failed = int(result.stdout.split()[1]) if result.error is None else prompts
    trace = gate.trace().to_dict() if hasattr(gate, "trace") else {}
    # VmHWM, not ru_maxrss: that one can keep the peak of the parent this process was forked from
    peak = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return {"wall": wall, "cpu": cpu, "peak": peak, "failed": failed, "extra": f"events {len(events)} {trace}".strip()}


def run_peer(fake: Fake, python: Path, prompts: int, concurrency: int) -> dict[str, Any]:
    fake.reset()
    done = subprocess.run([str(python), str(ROOT / "benchmarks" / "fanout_rlms.py"), fake.url, str(prompts), str(concurrency)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"wall": float("nan"), "cpu": float("nan"), "peak": 0, "in_flight": 0, "failed": prompts, "extra": done.stderr.strip()[-200:]}
    row = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    row["in_flight"] = fake.stats()["max_in_flight"]
    return row


if __name__ == "__main__":
    main()
