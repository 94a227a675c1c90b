"""Start-up cost of `rlm`, in one run: `rlm --help`, a tiny `rlm ask` to its first model request and
to exit, against `python -c "import litellm"` and `llm --help`.

Run: python benchmarks/startup.py [--runs N]

The tiny run reads one 140-byte file and answers in two root turns from the scripted fake provider
on 127.0.0.1 (tests/fakes/provider.py), sandbox auto, no trace. CPU is user + system time of the
whole process tree (the REPL worker included): at the first request, read from /proc as the
provider receives it; at exit, from the children's resource usage. "First output" is the time
from launch to the first byte `rlm ask` writes on a pseudo-terminal. Every figure is the median of
--runs runs, the commands taking turns. `llm` (PyPI) is installed into its own virtual environment
under ~/.cache/rlm-bench/ on first use.

Goals: CPU to the first request at most `import litellm` + 0.3 s; CPU of the whole tiny run at most
1.3x `import litellm`; first output on a terminal within 0.2 s; `rlm --help` 5x faster than
`import litellm`.
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import CACHE, peer_tool
from tests.fakes.provider import FakeProvider, Reply, Request, code

IMPORT_LITELLM = 'python -c "import litellm"'
LLM_VENV = CACHE / "llm"
TINY_INPUT = "2026-11-30 12:00:01 INFO deploy started\n2026-11-30 12:00:07 ERROR disk quota exceeded on db-7\n" \
             "2026-11-30 12:00:08 INFO rollback\n"
TURNS = [code("print(context[:200])"), code("answer['content'] = 'disk quota'", "answer['ready'] = True")]
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1"}


@dataclass
class Sample:
    """One timed run: wall and CPU seconds, at the first model request and at exit."""

    wall: float = 0.0
    cpu: float = 0.0
    first_wall: float | None = None
    first_cpu: float | None = None


@dataclass
class Series:
    """Samples of one command."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, pick: Callable[[Sample], float | None]) -> float:
        values = [v for v in map(pick, self.samples) if v is not None]
        return statistics.median(values) if values else float("nan")


def tree_cpu(pid: int) -> float:
    """User + system seconds of a live process and its descendants (waited-for children included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def timed(command: list[str], env: dict[str, str], on_start: Callable[[subprocess.Popen[bytes], float], None] | None = None) -> Sample:
    """Run once, output discarded; wall and CPU of the process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    if on_start is not None:
        on_start(process, started)
    code_ = process.wait()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code_ != 0:
        raise SystemExit(f"{' '.join(command)} exited {code_}")
    return Sample(wall=wall, cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


class TinyRun:
    """`rlm ask small.log "what failed?"` against the fake provider, its first request observed."""

    def __init__(self, provider: FakeProvider, source: Path, rlm: list[str]) -> None:
        self.provider = provider
        self.command = [*rlm, "ask", str(source), "what failed?", "--model", "openai/root", "--api-base", provider.url, "--no-trace"]
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.first: tuple[float, float] | None = None
        provider.root_script = self.reply

    def reply(self, request: Request) -> Reply:
        if request.turn == 0 and self.first is None and self.process is not None:
            self.first = (time.perf_counter() - self.started, tree_cpu(self.process.pid))
        return TURNS[min(request.turn, len(TURNS) - 1)]

    def once(self) -> Sample:
        self.first = None

        def watch(process: subprocess.Popen[bytes], started: float) -> None:
            self.process, self.started = process, started

        sample = timed(self.command, ENV, watch)
        if self.first is None:
            raise SystemExit("the tiny run made no model request")
        sample.first_wall, sample.first_cpu = self.first
        return sample

    def first_output(self) -> tuple[float, float]:
        """Wall and CPU seconds from launch to the first byte on a terminal (progress auto)."""
        controller, terminal = pty.openpty()
        env = {**ENV, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        env.pop("NO_COLOR")
        started = time.perf_counter()
        process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
        os.close(terminal)
        first: tuple[float, float] | None = None
        try:
            while True:
                ready, _, _ = select.select([controller], [], [], 60)
                if not ready:
                    raise SystemExit("no output on the terminal within 60 s")
                try:
                    data = os.read(controller, 65536)
                except OSError:
                    break
                if not data:
                    break
                if first is None:
                    first = (time.perf_counter() - started, tree_cpu(process.pid))
        finally:
            os.close(controller)
            process.wait()
        return first if first is not None else (float("nan"), float("nan"))


def llm_command() -> list[str] | None:
    """`llm` from its own virtual environment, installed on first use; None when it cannot be."""
    executable = peer_tool("llm", "llm")
    return None if executable is None else [str(executable)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rlm = [str(Path(sys.executable).with_name("rlm"))]
    llm = llm_command()
    with tempfile.TemporaryDirectory() as folder, FakeProvider() as provider:
        source = Path(folder) / "small.log"
        source.write_text(TINY_INPUT[:140], encoding="utf-8")
        tiny = TinyRun(provider, source, rlm)
        series = {name: Series(name) for name in ("help", "litellm", "llm", "ask")}
        outputs: list[tuple[float, float]] = []
        imports: list[float] = []
        for _ in range(args.runs + 1):  # the first round warms the page cache and is dropped
            round_ = {
                "help": timed([*rlm, "--help"], ENV),
                "litellm": timed([sys.executable, "-c", "import litellm"], ENV),
                "ask": tiny.once(),
            }
            imported = import_cpu()
            if llm is not None:
                round_["llm"] = timed([*llm, "--help"], ENV)
            output = tiny.first_output()
            if _ > 0:
                for name, sample in round_.items():
                    series[name].samples.append(sample)
                outputs.append(output)
                imports.append(imported)
    first_output = (statistics.median(o[0] for o in outputs), statistics.median(o[1] for o in outputs))
    report(series, first_output, statistics.median(imports), llm is not None, args.runs)


def import_cpu() -> float:
    """CPU seconds of `import litellm` alone, inside the interpreter (no start-up, no exit)."""
    code_ = "import time; t = time.process_time(); import litellm; print(time.process_time() - t)"
    done = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, env=ENV, check=True)
    return float(done.stdout)


def report(series: dict[str, Series], first_output: tuple[float, float], import_only: float, has_llm: bool, runs: int) -> None:
    wall, cpu = (lambda s: s.wall), (lambda s: s.cpu)
    litellm_cpu = series["litellm"].median(cpu)
    ask = series["ask"]
    print(f"medians of {runs} runs, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'':44} {'wall':>8} {'CPU':>8}")
    print(f"{'rlm --help':44} {series['help'].median(wall):7.3f}s {series['help'].median(cpu):7.3f}s")
    print(f"{IMPORT_LITELLM:44} {series['litellm'].median(wall):7.3f}s {litellm_cpu:7.3f}s")
    print(f"{'  import litellm alone, in-process':44} {'':8} {import_only:7.3f}s")
    if has_llm:
        print(f"{'llm --help':44} {series['llm'].median(wall):7.3f}s {series['llm'].median(cpu):7.3f}s")
    else:
        print(f"{'llm --help':44} not measured: `pip install llm` into {LLM_VENV} failed")
    first_cpu = ask.median(lambda s: s.first_cpu)
    print(f"{'tiny rlm ask, to its first model request':44} {ask.median(lambda s: s.first_wall):7.3f}s {first_cpu:7.3f}s")
    print(f"{'tiny rlm ask, to exit (2 turns)':44} {ask.median(wall):7.3f}s {ask.median(cpu):7.3f}s")
    print(f"{'tiny rlm ask, first output on a terminal':44} {first_output[0]:7.3f}s {first_output[1]:7.3f}s")
    print()
    print(f"CPU to first request - import litellm: {first_cpu - litellm_cpu:+.3f} s (goal: <= +0.3 s)")
    print(f"  - import litellm alone, in-process:  {first_cpu - import_only:+.3f} s")
    print(f"CPU of the tiny run / import litellm:  {ask.median(cpu) / litellm_cpu:.2f}x (goal: <= 1.3x)")
    print(f"import litellm / rlm --help (wall):    {series['litellm'].median(wall) / series['help'].median(wall):.1f}x (goal: >= 5x)")


if __name__ == "__main__":
    main()
