"""Follow-up questions: a repeated run and a `-c` follow-up against a first, fresh run.

Run: python benchmarks/followup.py [--files 2000] [--latency 0.2] [--sandbox process]
A generated tree of 2,000 files; a 3-turn scripted root policy (look, llm_batch over file chunks,
answer) with 0.2 s on every model call of the fake provider. Each run is a fresh `rlm ask`
process (start-up included), recorded in one temporary state directory:

1. a first run; 2. the same run again (goal: no sub-calls, wall time at most 20% of the first:
that needs the response and ingest caches); 3. a follow-up, `rlm ask -c`, whose first turn reads a
variable the first run left (goal: time to its first model call at most half a fresh run's).

Time to the first model call is taken from the process's start to the fake provider's receipt of
the first root request. CPU is user+sys of the process tree. The machine is shared: compare the
ratios, and read them with the load average printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.provider import FakeProvider, Reply, Request, code, script  # noqa: E402

FIRST = script(
    code("print(len(context.files), len(context))"),
    code("pieces = context.chunks(100_000, by='files')",
         "notes = llm_batch([f'What does this part hold? {piece}' for piece in pieces])", "print(len(notes))"),
    code("answer['content'] = f'{len(context.files)} files in {len(notes)} parts'", "answer['ready'] = True"),
)
FOLLOW = script(
    code("print(len(notes), answer['content'])"),
    code("answer['content'] = f'{len(notes)} parts, as before'", "answer['ready'] = True"),
)
QUESTION = "what does this tree hold?"
FOLLOW_UP = "and in how many parts?"


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    first_call_s: float  # from the process start to the first root request at the provider
    sub_calls: int
    exit_code: int
    answer: str


def make_tree(root: Path, files: int) -> None:
    """`files` small source-like files in 40 directories."""
    for index in range(files):
        folder = root / f"pkg{index % 40:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def function_{index}_{line}(x):\n    return x + {line}\n" for line in range(25))
        (folder / f"module{index:04d}.py").write_text(body, encoding="utf-8")


def policy(request: Request) -> Reply:
    """The follow-up's script for the follow-up question, the first run's otherwise."""
    opening = str(request.messages[1]["content"]) if len(request.messages) > 1 else ""
    return (FOLLOW if f"The question:\n{FOLLOW_UP}" in opening else FIRST)(request)


def run(provider: FakeProvider, args: list[str], env: dict[str, str], cwd: Path) -> Measure:
    """One `rlm ask` process; its wall and CPU time, time to its first model call, sub-calls."""
    before_requests = len(provider.requests)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rlm_cli", "ask", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = provider.requests[before_requests:]
    roots = [r for r in mine if provider.is_root(r)]
    payload = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
    return Measure(
        wall_s=wall, cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        first_call_s=(roots[0].started - started) if roots else float("nan"),
        sub_calls=len(mine) - len(roots), exit_code=done.returncode, answer=str(payload.get("answer", "")),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--sandbox", default="process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rlm-followup-") as folder, FakeProvider(root_script=policy, latency=args.latency, sub_rule=lambda request: "some functions") as provider:
        base = Path(folder)
        make_tree(base / "tree", args.files)
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "XDG_STATE_HOME": str(base / "state"),
               "XDG_CACHE_HOME": str(base / "cache"), "XDG_CONFIG_HOME": str(base / "config"),
               "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        flags = ["--model", "openai/root", "--sub-model", "openai/sub", "--api-base", provider.url,
                 "--sandbox", args.sandbox, "--json", "--progress", "none"]
        first = run(provider, ["tree", QUESTION, *flags], env, base)
        again = run(provider, ["tree", QUESTION, *flags], env, base)
        follow = run(provider, ["-c", FOLLOW_UP, *flags], env, base)
    print(f"{args.files} files, {args.latency} s per model call, sandbox {args.sandbox}")
    for name, measure in (("first run", first), ("same run again", again), ("follow-up -c", follow)):
        print(f"{name:15} exit {measure.exit_code}  wall {measure.wall_s:6.2f} s  cpu {measure.cpu_s:6.2f} s  "
              f"first model call after {measure.first_call_s:5.2f} s  sub-calls {measure.sub_calls:3}  answer {measure.answer!r}")
    print(f"repeated run: sub-calls {again.sub_calls} vs {first.sub_calls} (goal 0); "
          f"wall {again.wall_s / first.wall_s:.0%} of the first (goal <= 20%); cpu {again.cpu_s / first.cpu_s:.0%}")
    print(f"follow-up: first model call after {follow.first_call_s / first.first_call_s:.0%} of the first run's time "
          f"and {follow.first_call_s / again.first_call_s:.0%} of the repeated run's (goal <= 50%)")
    print("load average: " + " ".join(f"{value:.2f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
