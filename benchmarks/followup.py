"""Follow-up questions: a repeated run, an `rlm ask -c` follow-up and a second `rlm chat` question
against a first, fresh run.

Run: python benchmarks/followup.py [--files 2000] [--latency 0.2] [--sandbox process]
A generated tree of 2,000 files; a 3-turn scripted root policy (look; `llm_batch` with one prompt
per file, as a model maps over a tree; answer) with 0.2 s on every model call of the fake provider,
at the default concurrency (8, passed explicitly). Each `rlm ask` is a new process (start-up
included), recorded in one temporary state and cache directory:

1. a first run, cold: a new process, LiteLLM imported by it (`RLM_WARM=600` given, so that it
   leaves a warm process behind as a run on a terminal does by default; the script waits until
   that process is ready, as a user reads an answer before asking the next question);
2. the same run again (goal: no sub-calls, wall time at most 20% of the first);
3. a follow-up, `rlm ask -c`, whose first turn reads a variable the first run left (goal: time to
   its first model call at most half a fresh run's), through the warm process; then the same
   follow-up with `RLM_WARM=0`, in a process of its own, for comparison;
4. `rlm chat` on the same tree through a pty: the time from typing its second question to the
   provider's receipt of that question's first root request.

The floor under a new process's first model call is importing LiteLLM, measured alone here
(`python -c "import litellm"`), with a tiny fresh `rlm ask` on one small file. Time to the first
model call is taken from the process's start to the provider's receipt of the first root request.
CPU is user+sys of the process tree, and for a run the warm process makes, of its child (read from
the warm process's reaped-children times). The machine is shared: compare the ratios, and read
them with the load average printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import warm_server  # noqa: E402
from tests.fakes.provider import FakeProvider, Reply, Request, code, script  # noqa: E402

CONCURRENCY = 8  # the default of --concurrency
CELL_TIMEOUT = 900  # the fan-out cell waits on 2,000 sub-calls: past the default 120 s on a loaded machine
WAIT = 600.0  # seconds the chat may take to show what is awaited
QUESTION = "what does this tree hold?"
FOLLOW_UP = "and how many summaries?"
TINY = "what does this note say?"
CHAT_FIRST = "how many files are there?"
CHAT_SECOND = "and how many folders?"


def turns(*replies: str) -> Callable[[Request], Reply]:
    """A root script answering turn after turn."""
    made = script(*replies)
    assert callable(made)
    return made


SCRIPTS: dict[str, Callable[[Request], Reply]] = {
    QUESTION: turns(
        code("print(len(context.files), len(context))"),
        code("notes = llm_batch([f'Summarise {d.path}: {d[:2000]}' for d in context.documents])", "print(len(notes))"),
        code("answer['content'] = f'{len(context.files)} files, {len(notes)} summaries'", "answer['ready'] = True"),
    ),
    FOLLOW_UP: turns(
        code("print(len(notes), answer['content'])"),
        code("answer['content'] = f'{len(notes)} summaries, as before'", "answer['ready'] = True"),
    ),
    TINY: turns(code("print(context[:40])"), code("answer['content'] = context[:40]", "answer['ready'] = True")),
    CHAT_FIRST: turns(code("print(len(context.files))"),
                      code("answer['content'] = f'{len(context.files)} files'", "answer['ready'] = True")),
    CHAT_SECOND: turns(code("folders = {f.split('/')[0] for f in context.files}", "print(len(folders))"),
                       code("answer['content'] = f'{len(folders)} folders'", "answer['ready'] = True")),
}


@dataclass
class Measure:
    wall_s: float
    cpu_s: float
    first_call_s: float  # from the process start (or the question typed) to the first root request
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


def question_of(request: Request) -> str:
    opening = str(request.messages[1]["content"]) if len(request.messages) > 1 else ""
    return opening.split("The question:\n", 1)[-1].splitlines()[0] if "The question:\n" in opening else ""


def policy(request: Request) -> Reply:
    """The script of the question asked."""
    return SCRIPTS.get(question_of(request), SCRIPTS[QUESTION])(request)


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_floor(env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of a process that only imports LiteLLM (from its local price map)."""
    before, started = cpu_of_children(), time.monotonic()
    subprocess.run([sys.executable, "-c", "import litellm"], env=env, check=True)
    return time.monotonic() - started, cpu_of_children() - before


def warm_cpu(pid: int | None) -> float:
    """CPU seconds of the warm process and of its children it has reaped."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def run(provider: FakeProvider, args: list[str], env: dict[str, str], cwd: Path, server: int | None = None) -> Measure:
    """One `rlm ask` process; its wall and CPU time, time to its first model call, sub-calls."""
    before_requests = len(provider.requests)
    before = cpu_of_children() + warm_cpu(server)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rlm_cli", "ask", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - started
    mine = provider.requests[before_requests:]
    roots = [r for r in mine if provider.is_root(r)]
    payload = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
    return Measure(
        wall_s=wall, cpu_s=cpu_of_children() + warm_cpu(server) - before,
        first_call_s=(roots[0].started - started) if roots else float("nan"),
        sub_calls=len(mine) - len(roots), exit_code=done.returncode, answer=str(payload.get("answer", "")),
    )


class Chat:
    """`rlm chat` in a child whose controlling terminal is a pty."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.started = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execvpe(sys.executable, [sys.executable, "-m", "rlm_cli", "chat", *args], env)
        self.seen = ""

    def type(self, text: str) -> float:
        os.write(self.fd, text.encode())
        return time.monotonic()

    def read_until(self, check: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not check(self.seen):
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise RuntimeError(f"rlm chat showed no more; so far:\n{self.seen}")
            self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")

    def close(self) -> int:
        self.type("\x04")  # Ctrl-D ends the session
        while True:
            ready, _, _ = select.select([self.fd], [], [], WAIT)
            try:
                if ready and os.read(self.fd, 65536):
                    continue
            except OSError:  # the child closed the terminal
                pass
            return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])


def chat(provider: FakeProvider, flags: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Seconds from the chat's start to its first question's first root request (the question typed
    at the prompt at once), and from typing the second question to its first root request."""
    def first_root(question: str) -> Request:
        def found() -> Request | None:
            return next((r for r in provider.requests if provider.is_root(r) and question_of(r) == question), None)
        with provider.arrived:
            provider.arrived.wait_for(lambda: found() is not None, timeout=WAIT)
        request = found()
        if request is None:
            raise RuntimeError(f"the provider never saw {question!r}")
        return request

    terminal = Chat(["tree", *flags], {**env, "NO_COLOR": "1", "TERM": "dumb"}, cwd)
    terminal.read_until(lambda seen: "rlm> " in seen)
    terminal.type(CHAT_FIRST + "\n")
    first = first_root(CHAT_FIRST).started - terminal.started
    terminal.read_until(lambda seen: seen.count("rlm> ") >= 2)
    typed = terminal.type(CHAT_SECOND + "\n")
    second = first_root(CHAT_SECOND).started - typed
    terminal.read_until(lambda seen: seen.count("rlm> ") >= 3)
    return first, second, terminal.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--sandbox", default="process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rlm-followup-") as folder, \
            FakeProvider(root_script=policy, latency=args.latency, sub_rule=lambda request: "some functions") as provider:
        base = Path(folder)
        runtime = base / "run"
        runtime.mkdir(mode=0o700)
        make_tree(base / "tree", args.files)
        (base / "note.txt").write_text("the meeting moved to Thursday\n", encoding="utf-8")
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "XDG_STATE_HOME": str(base / "state"),
               "XDG_CACHE_HOME": str(base / "cache"), "XDG_CONFIG_HOME": str(base / "config"),
               "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_RUNTIME_DIR": str(runtime)}
        model = ["--model", "openai/root", "--sub-model", "openai/sub", "--api-base", provider.url,
                 "--sandbox", args.sandbox, "--concurrency", str(CONCURRENCY)]
        flags = [*model, "--cell-timeout", str(CELL_TIMEOUT), "--json", "--progress", "none"]
        floors = [import_floor(env)]
        cold, warm = {**env, "RLM_WARM": "0"}, {**env, "RLM_WARM": "600"}
        tiny = run(provider, ["note.txt", TINY, *flags], cold, base)
        first = run(provider, ["tree", QUESTION, *flags], warm, base)
        waited = time.monotonic()
        while (server := warm_server(runtime)) is None:
            if time.monotonic() - waited > WAIT:
                raise RuntimeError("no warm process")
            time.sleep(0.1)
        waited = time.monotonic() - waited
        server_cpu = warm_cpu(server)
        again = run(provider, ["tree", QUESTION, *flags], warm, base, server)
        follow = run(provider, ["-c", FOLLOW_UP, *flags], warm, base, server)
        follow_cold = run(provider, ["-c", FOLLOW_UP, *flags], cold, base)
        tiny_warm = run(provider, ["note.txt", TINY, *flags], warm, base, server)
        chat_first, chat_second, chat_exit = chat(provider, model, cold, base)
        floors.append(import_floor(env))  # before and after: the load moves
        os.kill(server, signal.SIGTERM)
    floor_wall = min(wall for wall, _ in floors)
    print(f"{args.files} files, {args.latency} s per model call, concurrency {CONCURRENCY}, sandbox {args.sandbox}")
    print("import litellm alone (before, after)  " + "  ".join(f"wall {wall:5.2f} s cpu {cpu:5.2f} s" for wall, cpu in floors))
    print(f"warm process ready {waited:5.2f} s after the first run ended; its start-up cost {server_cpu:5.2f} s CPU")
    rows = (("tiny run, 1 file", tiny), ("first run", first), ("same run again", again),
            ("tiny run, warm", tiny_warm), ("follow-up -c", follow), ("-c, RLM_WARM=0", follow_cold))
    for name, measure in rows:
        print(f"{name:16} exit {measure.exit_code}  wall {measure.wall_s:6.2f} s  cpu {measure.cpu_s:6.2f} s  "
              f"first model call after {measure.first_call_s:5.2f} s  sub-calls {measure.sub_calls:4}  answer {measure.answer!r}")
    print(f"rlm chat         exit {chat_exit}  first question's first model call after {chat_first:5.2f} s from the start; "
          f"second question's after {chat_second:5.2f} s from typing it")
    print(f"repeated run: sub-calls {again.sub_calls} vs {first.sub_calls} (goal 0); "
          f"wall {again.wall_s / first.wall_s:.0%} of the first (goal <= 20%); cpu {again.cpu_s / first.cpu_s:.0%}")
    print(f"time to the first model call, against the first run's (the faster LiteLLM import alone: {floor_wall:.2f} s):")
    for name, seconds in (("tiny run, 1 file", tiny.first_call_s), ("first run", first.first_call_s),
                          ("tiny run, warm", tiny_warm.first_call_s), ("follow-up -c", follow.first_call_s),
                          ("-c, RLM_WARM=0", follow_cold.first_call_s), ("chat, 2nd question", chat_second)):
        print(f"  {name:19} {seconds:5.2f} s  {seconds / first.first_call_s:5.0%}")
    print(f"follow-up goal (<= 50% of a fresh run's): -c {follow.first_call_s / first.first_call_s:.0%} "
          f"(in its own process: {follow_cold.first_call_s / first.first_call_s:.0%}), chat {chat_second / first.first_call_s:.1%}")
    print("load average: " + " ".join(f"{value:.2f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
