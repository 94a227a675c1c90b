"""Piped stdin against a plain copy: `cat log | rlm ask -` and its spooling, `cat log > file`.

Run: python benchmarks/spool.py [--sizes 1G,3G] [--rounds 3]
For each size, a generated log (benchmarks/huge_file.py's) is written under /tmp and deleted
afterwards. Each round runs, one after another (so a busy moment hits every step alike):

- `cat log > copy` (the goal's baseline) and `cat log | cat > copy` (the cost of a pipe alone);
- `cat log | python <spool>`: rlm's spooling alone (Spool.stdin), timed inside the process too;
- `cat log | python <beside>`: the same spooling while LiteLLM imports on another thread, as in
  `rlm ask -` (runner.warm_up_litellm), timed inside the process until the spool is written;
- `python <spool> < log`: stdin redirected from the file, copied inside the kernel;
- `cat log | python <ingest>`: the whole ingest step of `rlm ask -` (spool, examine, manifest);
- `cat log | rlm ask - ...` to its first model request (the scripted fake provider on 127.0.0.1)
  against `rlm ask tiny.log` to its first request: the difference is what the stdin costs;
- the same two through a warm process (`RLM_WARM`, README "A warm process"; started once before
  the rounds), where no LiteLLM import runs beside the spooling (wall only: the run's CPU is
  the warm process's child's).

Before every step the last step's copy is written back (`sync`) and the log read again, so no step
pays for another's writeback or for log pages the kernel reclaimed meanwhile. Wall seconds and CPU
seconds (user + system of the whole process tree, cat included), medians of the rounds, as ratios
to `cat log > file` and to `cat log | cat > file`, with the load average: the machine is shared,
so ratios taken in one run count.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.cputime import FirstRequest  # noqa: E402
from benchmarks.huge_file import parse_size, write_log  # noqa: E402  # after the repository is on the path
from tests.fakes.provider import FakeProvider, code  # noqa: E402

ENV = {**os.environ, "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
TURNS = [code("print(len(context))"), code("answer['content'] = 'done'", "answer['ready'] = True")]


@dataclass
class Series:
    """Samples of one step: wall, CPU, and wall and CPU seconds inside the process (when it reports them)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    inside: list[float] = field(default_factory=list)
    inside_cpu: list[float] = field(default_factory=list)

    def add_inside(self, output: str) -> None:
        wall, cpu = output.split()
        self.inside.append(float(wall))
        self.inside_cpu.append(float(cpu))

    def median(self, name: str) -> float:
        values = getattr(self, name)
        return statistics.median(values) if values else float("nan")


def shell(command: str, series: Series, env: dict[str, str] = ENV) -> str:
    """Run a shell pipeline; record its wall and CPU seconds; return its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, check=False)
    series.wall.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    series.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode:
        raise SystemExit(f"{command} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def settle(log: Path) -> None:
    """Write back the dirty pages of earlier steps and bring the log into the page cache again."""
    subprocess.run(["sync"], check=True)
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)


def first_request(asker: FirstRequest, command: str, series: Series, env: dict[str, str] = ENV) -> None:
    """Run a shell pipeline ending in `rlm ask`; record its wall and CPU seconds to the first
    request (no CPU through a warm process: the run is its child, not this one's)."""
    process = subprocess.Popen(command, shell=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    asker.watch(process, time.perf_counter())
    _, err = process.communicate()
    if process.returncode or asker.first is None:
        raise SystemExit(f"{command} failed: {err.decode()[-2000:]}")
    series.wall.append(asker.first[0])
    series.cpu.append(float("nan") if env is not ENV else asker.first[1])


def start_warm_process(ask: str, tiny: Path, runtime: Path) -> dict[str, str]:
    """The environment of runs through a warm process, once one listens there."""
    # imports rlm_cli: only once the tree measured is on the path
    from tests.e2e.helpers import warm_server

    env = {**ENV, "RLM_WARM": "600", "XDG_RUNTIME_DIR": str(runtime)}
    runtime.mkdir(mode=0o700)
    shell(ask.format(shlex.quote(str(tiny))), Series(), env)  # a cold run leaves the warm process behind
    waited = time.monotonic()
    while warm_server(runtime) is None:
        if time.monotonic() - waited > 60:
            raise SystemExit("no warm process within 60 s")
        time.sleep(0.1)
    return env


def spool_child(spool: str) -> None:
    """Spool stdin as `rlm ask -` does; print the seconds it took inside this process."""
    from rlm_cli.ingest.spool import Spool

    started, cpu = time.perf_counter(), time.process_time()
    Spool(Path(spool)).stdin(sys.stdin.buffer, 1 << 50)
    print(time.perf_counter() - started, time.process_time() - cpu)


def beside_child(spool: str) -> None:
    """Spool stdin while LiteLLM imports on another thread, as `rlm ask -` does; print the
    seconds the spooling took inside this process."""
    from rlm_cli.ingest.spool import Spool
    from rlm_cli.runner import warm_up_litellm

    started, cpu = time.perf_counter(), time.process_time()
    warm_up_litellm()
    Spool(Path(spool)).stdin(sys.stdin.buffer, 1 << 50)
    print(time.perf_counter() - started, time.process_time() - cpu)


def ingest_child(spool: str) -> None:
    """Ingest stdin as `rlm ask -` does (spool, examine, manifest); print the seconds inside."""
    from rlm_cli.ingest import IngestOptions, ingest

    started, cpu = time.perf_counter(), time.process_time()
    ingest(["-"], IngestOptions(), spool_dir=Path(spool))
    print(time.perf_counter() - started, time.process_time() - cpu)


def stop_warm_process(runtime: Path) -> None:
    from tests.e2e.helpers import warm_server

    if (server := warm_server(runtime)) is not None:
        os.kill(server, signal.SIGTERM)


def ask_command(provider: FakeProvider) -> str:
    """`rlm ask {} 'what?'` against the fake provider, `{}` for the source."""
    return f"{shlex.quote(sys.executable)} -m rlm_cli ask {{}} 'what?' --model openai/root --api-base {provider.url} --no-trace --quiet"


def measure(log: Path, tiny: Path, work: Path, provider: FakeProvider, rounds: int, warm: dict[str, str]) -> dict[str, Series]:
    names = ("plain", "pipe", "spool", "beside", "redirect", "ingest", "ask", "tiny", "ask_warm", "tiny_warm")
    steps = {name: Series() for name in names}
    copy, me, q = work / "copy", shlex.quote(__file__), shlex.quote
    asker, ask = FirstRequest(provider, TURNS), ask_command(provider)
    tree, spool = f"--tree {q(ENV['PYTHONPATH'])}", q(str(work / "spool"))
    for _ in range(rounds):
        for name, command in (("plain", f"cat {q(str(log))} > {q(str(copy))}"), ("pipe", f"cat {q(str(log))} | cat > {q(str(copy))}")):
            settle(log)
            shell(command, steps[name])
            copy.unlink()
        for name in ("spool", "beside", "ingest"):
            settle(log)
            steps[name].add_inside(shell(f"cat {q(str(log))} | {q(sys.executable)} {me} {tree} --{name}-child {spool}", steps[name]))
            shutil.rmtree(work / "spool")
        settle(log)
        steps["redirect"].add_inside(shell(f"{q(sys.executable)} {me} {tree} --spool-child {spool} < {q(str(log))}", steps["redirect"]))
        shutil.rmtree(work / "spool")
        for name, command, env in (
            ("ask", f"cat {q(str(log))} | " + ask.format("-"), ENV), ("tiny", ask.format(q(str(tiny))), ENV),
            ("ask_warm", f"cat {q(str(log))} | " + ask.format("-"), warm), ("tiny_warm", ask.format(q(str(tiny))), warm),
        ):
            settle(log)
            first_request(asker, command, steps[name], env)
    return steps


def report(size: int, steps: dict[str, Series]) -> None:
    plain, pipe = steps["plain"], steps["pipe"]

    def row(label: str, wall: float, cpu: float, extra: str = "") -> None:
        ratios = [wall / plain.median("wall"), cpu / plain.median("cpu"), wall / pipe.median("wall"), cpu / pipe.median("cpu")]
        print(f"  {label:48} {wall:7.3f} {cpu:7.3f}" + "".join(f" {ratio:6.2f}x" for ratio in ratios) + extra)

    print(f"\n{size / 1024**3:.2f} GiB log ({size:,} bytes); load average {os.getloadavg()[0]:.1f}")
    print(f"  {'step (medians)':48} {'wall':>7} {'CPU':>7} {'/ cat > file':>15} {'/ cat | cat':>15}")
    row("cat log > file", plain.median("wall"), plain.median("cpu"))
    row("cat log | cat > file", pipe.median("wall"), pipe.median("cpu"))
    spool, ingest = steps["spool"], steps["ingest"]
    row("cat log | spool (Python started)", spool.median("wall"), spool.median("cpu"))
    row("  spooling alone, inside the process", spool.median("inside"), spool.median("inside_cpu"), paired(spool.inside, plain.wall))
    beside, redirect = steps["beside"], steps["redirect"]
    row("  spooling beside LiteLLM's import (CPU: both)", beside.median("inside"), beside.median("inside_cpu"))
    row("spool < log (Python started)", redirect.median("wall"), redirect.median("cpu"))
    row("  spooling alone, inside the process", redirect.median("inside"), redirect.median("inside_cpu"))
    row("cat log | ingest (Python started)", ingest.median("wall"), ingest.median("cpu"))
    row("  ingest alone, inside the process", ingest.median("inside"), ingest.median("inside_cpu"))
    ask, tiny = steps["ask"], steps["tiny"]
    row("cat log | rlm ask -, to its first request", ask.median("wall"), ask.median("cpu"))
    row("rlm ask tiny.log, to its first request", tiny.median("wall"), tiny.median("cpu"))
    extra = [a - t for a, t in zip(ask.wall, tiny.wall, strict=True)]
    row("  the difference: what the stdin costs", *difference(ask, tiny), paired(extra, plain.wall))
    ask, tiny = steps["ask_warm"], steps["tiny_warm"]
    row("cat log | rlm ask -, warm process (wall only)", ask.median("wall"), ask.median("cpu"))
    row("rlm ask tiny.log, warm process", tiny.median("wall"), tiny.median("cpu"))
    extra = [a - t for a, t in zip(ask.wall, tiny.wall, strict=True)]
    row("  the difference: what the stdin costs", *difference(ask, tiny), paired(extra, plain.wall))
    print("  (goal <= 1.3x; paired: each round's wall / that round's `cat log > file`, median [lowest-highest])")


def difference(ask: Series, tiny: Series) -> tuple[float, float]:
    """Median wall and CPU seconds a run with stdin took more than a tiny run in the same round."""
    return (statistics.median(a - t for a, t in zip(ask.wall, tiny.wall, strict=True)),
            statistics.median(a - t for a, t in zip(ask.cpu, tiny.cpu, strict=True)))


def paired(walls: list[float], plain: list[float]) -> str:
    """Each round's wall seconds as a ratio to the same round's plain copy: the median and range.
    Memory copies on a shared machine run at speeds that vary twofold from minute to minute;
    a ratio taken within one round shares the moment."""
    ratios = sorted(wall / base for wall, base in zip(walls, plain, strict=True))
    return f"   paired {statistics.median(ratios):.2f}x [{ratios[0]:.2f}-{ratios[-1]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1G,3G")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", default=str(REPO), help="the checkout whose rlm_cli is measured (default: this one)")
    parser.add_argument("--spool-child", help=argparse.SUPPRESS)
    parser.add_argument("--beside-child", help=argparse.SUPPRESS)
    parser.add_argument("--ingest-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, args.tree)  # the children import the rlm_cli measured
    assert "rlm_cli" not in sys.modules
    if args.spool_child:
        return spool_child(args.spool_child)
    if args.beside_child:
        return beside_child(args.beside_child)
    if args.ingest_child:
        return ingest_child(args.ingest_child)
    ENV["PYTHONPATH"] = args.tree
    sizes = [parse_size(size) for size in args.sizes.split(",")]
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if 3 * max(sizes) + 1024**3 > free:
        raise SystemExit(f"only {free / 1024**3:.1f} GiB free in {tempfile.gettempdir()}: pass smaller --sizes")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.rounds} rounds, warm page cache; rlm_cli from {args.tree}")
    with tempfile.TemporaryDirectory(dir="/tmp") as directory, FakeProvider() as provider:
        work = Path(directory)
        os.chdir(work)  # `python -m rlm_cli` puts the working directory first on sys.path: not this checkout
        tiny = work / "tiny.log"
        write_log(tiny, 64 * 1024)
        FirstRequest(provider, TURNS)  # answers the run that leaves the warm process
        warm = start_warm_process(ask_command(provider), tiny, work / "run")
        try:
            for size in sizes:
                log = work / "huge.log"
                write_log(log, size)
                report(size, measure(log, tiny, work, provider, args.rounds, warm))
                log.unlink()
        finally:
            stop_warm_process(work / "run")


if __name__ == "__main__":
    main()
