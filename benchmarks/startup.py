"""Start-up cost of `rlm`, in one run: `rlm --help`, a tiny `rlm ask` to its first model request and
to exit, against `python -c "import litellm"` and `llm --help`; the first byte on a terminal against
the interpreter's own start (`python -S -c pass`, `python -c pass`) and what site-packages' .pth
files cost.

Run: python benchmarks/startup.py [--runs N]

The tiny run reads one 140-byte file and answers in two root turns from the scripted fake provider
on 127.0.0.1 (tests/fakes/provider.py), sandbox auto, no trace. CPU is user + system time of the
whole process tree (the REPL worker included): at the first request, read from /proc as the
provider receives it; at exit, from the children's resource usage. "First output" is the time
from launch to the first byte `rlm ask` writes on a pseudo-terminal (the early `rlm: starting …`
line), "reading line" to the runner's own first line. `rlm` is a console script written here the
way pip writes one, from pyproject.toml's entry point, and this tree comes first on the path. Every figure is the median of
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
import site
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cputime import FirstRequest, tree_cpu
from benchmarks.peers import CACHE, peer_tool
from tests.fakes.provider import FakeProvider, code

ROOT = Path(__file__).resolve().parent.parent
IMPORT_LITELLM = 'python -c "import litellm"'
LLM_VENV = CACHE / "llm"
TINY_INPUT = "2026-11-30 12:00:01 INFO deploy started\n2026-11-30 12:00:07 ERROR disk quota exceeded on db-7\n" \
             "2026-11-30 12:00:08 INFO rollback\n"
TURNS = [code("print(context[:200])"), code("answer['content'] = 'disk quota'", "answer['ready'] = True")]
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}


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
        self.asker = FirstRequest(provider, TURNS)

    def once(self) -> Sample:
        sample = timed(self.command, ENV, self.asker.watch)
        if self.asker.first is None:
            raise SystemExit("the tiny run made no model request")
        sample.first_wall, sample.first_cpu = self.asker.first
        return sample

    def first_output(self) -> Output:
        """Launch to the first byte on a terminal (progress auto), and to the runner's first line."""
        controller, terminal = pty.openpty()
        env = {**ENV, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        env.pop("NO_COLOR")
        started = time.perf_counter()
        process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
        os.close(terminal)
        output = Output()
        screen = b""
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
                if output.first is None:
                    output.first, output.first_cpu = time.perf_counter() - started, tree_cpu(process.pid)
                screen += data
                if output.reading is None and b"rlm: reading" in screen:
                    output.reading = time.perf_counter() - started
        finally:
            os.close(controller)
            process.wait()
        return output


@dataclass
class Output:
    """Seconds from launch to the first byte on a terminal (wall, CPU) and to the `reading` line."""

    first: float | None = None
    first_cpu: float | None = None
    reading: float | None = None


def console_script(folder: Path) -> list[str]:
    """An `rlm` launcher as pip writes one for pyproject.toml's entry point, for this interpreter."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]["rlm"]
    module, function = target.split(":")
    script = folder / "rlm"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom {module} import {function}\n"
        f"if __name__ == '__main__':\n    sys.exit({function}())\n", encoding="utf-8",
    )
    script.chmod(0o755)
    return [str(script)]


def pth_costs(rounds: int = 20) -> dict[str, float]:
    """Median seconds each .pth file in site-packages costs at start-up, processed in a `-S` interpreter."""
    code_ = (
        "import site, sys, time\n"
        "sys.path.append(sys.argv[1])\n"
        "for name in sys.argv[2:]:\n"
        "    t = time.perf_counter(); site.addpackage(sys.argv[1], name, set()); print(time.perf_counter() - t)\n"
    )
    folder = next(p for p in site.getsitepackages() if Path(p).is_dir())
    names = sorted(p.name for p in Path(folder).glob("*.pth"))
    runs = [subprocess.run([sys.executable, "-S", "-c", code_, folder, *names], capture_output=True, text=True, env=ENV, check=True)
            for _ in range(rounds)]
    return {name: statistics.median(float(run.stdout.split()[i]) for run in runs) for i, name in enumerate(names)}


def llm_command() -> list[str] | None:
    """`llm` from its own virtual environment, installed on first use; None when it cannot be."""
    executable = peer_tool("llm", "llm")
    return None if executable is None else [str(executable)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--first-output", action="store_true", help="only the first output on a terminal, `rlm --help` and the interpreter's start")
    args = parser.parse_args()
    llm = None if args.first_output else llm_command()
    with tempfile.TemporaryDirectory() as folder, FakeProvider() as provider:
        rlm = console_script(Path(folder))
        source = Path(folder) / "small.log"
        source.write_text(TINY_INPUT[:140], encoding="utf-8")
        tiny = TinyRun(provider, source, rlm)
        series = {name: Series(name) for name in ("bare", "python", "help", "litellm", "llm", "ask")}
        outputs: list[Output] = []
        imports: list[float] = []
        for _ in range(args.runs + 1):  # the first round warms the page cache and is dropped
            round_ = {
                "bare": timed([sys.executable, "-S", "-c", "pass"], ENV),
                "python": timed([sys.executable, "-c", "pass"], ENV),
                "help": timed([*rlm, "--help"], ENV),
            }
            if not args.first_output:
                round_ |= {"litellm": timed([sys.executable, "-c", "import litellm"], ENV), "ask": tiny.once()}
                imports.append(import_cpu())
            if llm is not None:
                round_["llm"] = timed([*llm, "--help"], ENV)
            output = tiny.first_output()
            if _ > 0:
                for name, sample in round_.items():
                    series[name].samples.append(sample)
                outputs.append(output)
    report(series, outputs, statistics.median(imports[1:]) if imports else None, llm is not None, args.runs)
    print("\nsite-packages .pth files, in-process median:", ", ".join(f"{name} {cost * 1000:.2f} ms" for name, cost in pth_costs().items()))
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def import_cpu() -> float:
    """CPU seconds of `import litellm` alone, inside the interpreter (no start-up, no exit)."""
    code_ = "import time; t = time.process_time(); import litellm; print(time.process_time() - t)"
    done = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, env=ENV, check=True)
    return float(done.stdout)


def report(series: dict[str, Series], outputs: list[Output], import_only: float | None, has_llm: bool, runs: int) -> None:
    wall, cpu = (lambda s: s.wall), (lambda s: s.cpu)
    python_cpu = series["python"].median(cpu)
    print(f"medians of {runs} runs, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'':44} {'wall':>8} {'CPU':>8}")
    for name, label in (("bare", "python -S -c pass"), ("python", "python -c pass"), ("help", "rlm --help")):
        print(f"{label:44} {series[name].median(wall):7.3f}s {series[name].median(cpu):7.3f}s")
    first = statistics.median(o.first for o in outputs if o.first is not None)
    first_cpu = statistics.median(o.first_cpu for o in outputs if o.first_cpu is not None)
    reading = statistics.median(o.reading for o in outputs if o.reading is not None)
    print(f"{'tiny rlm ask, first output on a terminal':44} {first:7.3f}s {first_cpu:7.3f}s")
    print(f"{'tiny rlm ask, its `reading` line':44} {reading:7.3f}s")
    if import_only is not None:
        litellm_cpu = series["litellm"].median(cpu)
        ask = series["ask"]
        print(f"{IMPORT_LITELLM:44} {series['litellm'].median(wall):7.3f}s {litellm_cpu:7.3f}s")
        print(f"{'  import litellm alone, in-process':44} {'':8} {import_only:7.3f}s")
        if has_llm:
            print(f"{'llm --help':44} {series['llm'].median(wall):7.3f}s {series['llm'].median(cpu):7.3f}s")
        else:
            print(f"{'llm --help':44} not measured: `pip install llm` into {LLM_VENV} failed")
        request_cpu = ask.median(lambda s: s.first_cpu)
        print(f"{'tiny rlm ask, to its first model request':44} {ask.median(lambda s: s.first_wall):7.3f}s {request_cpu:7.3f}s")
        print(f"{'tiny rlm ask, to exit (2 turns)':44} {ask.median(wall):7.3f}s {ask.median(cpu):7.3f}s")
    print()
    print(f"first output on a terminal: {first:.3f} s wall (goal: <= 0.2 s), CPU {first_cpu / python_cpu:.2f}x `python -c pass`")
    if import_only is not None:
        print(f"CPU to first request - import litellm: {request_cpu - litellm_cpu:+.3f} s (goal: <= +0.3 s)")
        print(f"  - import litellm alone, in-process:  {request_cpu - import_only:+.3f} s")
        print(f"CPU of the tiny run / import litellm:  {ask.median(cpu) / litellm_cpu:.2f}x (goal: <= 1.3x)")
        print(f"import litellm / rlm --help (wall):    {series['litellm'].median(wall) / series['help'].median(wall):.1f}x (goal: >= 5x)")


if __name__ == "__main__":
    main()
