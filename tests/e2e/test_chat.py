"""End to end: `rlm chat` on a real terminal: questions in turn in one REPL, Ctrl-C stops a
question and the session goes on, Ctrl-D ends it."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.helpers import FAKE_KEY, model_flags, rlm
from tests.fakes.provider import FakeProvider, Reply, Request, code

WAIT = 60.0  # seconds a condition may take on a loaded machine


class Terminal:
    """`rlm chat` in a child whose controlling terminal is a pty we type into."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "NO_COLOR": "1", "TERM": "dumb"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a new session, the pty its controlling terminal
            os.chdir(cwd)
            os.execvpe(sys.executable, [sys.executable, "-m", "rlm_cli", "chat", *args], env)
        self.seen = ""

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def read_until(self, check: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + WAIT
        while not check(self.seen):
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"the terminal showed no more; so far:\n{self.seen}"
            try:
                self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                break
        return self.seen

    def wait(self) -> int:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with_status = os.waitpid(self.pid, os.WNOHANG)
            if with_status[0]:
                return os.waitstatus_to_exitcode(with_status[1])
            if select.select([self.fd], [], [], 0.1)[0]:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 65536).decode("utf-8", "replace")
        raise AssertionError("rlm chat did not exit")


def _wait_for(provider: FakeProvider, check: Callable[[], bool]) -> None:
    with provider.arrived:
        assert provider.arrived.wait_for(check, timeout=WAIT)


def test_chat_answers_questions_in_one_repl_and_survives_ctrl_c(provider: FakeProvider, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("alpha\nbeta\n", encoding="utf-8")
    scripts = {
        "slow": [code("x = 41", "llm_query('take your time')")],
        "next": [code("print(x)"), code("answer['content'] = f'x + 1 = {x + 1}'", "y = 'kept'", "answer['ready'] = True")],
        "last": [code("print(y)"), code("answer['content'] = f'{y} and {x}'", "answer['ready'] = True")],
        "looping": [],
    }

    def root(request: Request) -> Reply:
        question = str(request.messages[1]["content"]).split("The question:\n", 1)[1].splitlines()[0]
        turns = next(turns for key, turns in scripts.items() if key in question)
        return turns[request.turn] if request.turn < len(turns) else code("print('working')")

    provider.root_script = root
    provider.sub_latency = WAIT  # the first question's sub-call hangs until Ctrl-C
    terminal = Terminal(["notes.txt", *model_flags(provider), "--max-iterations", "4"], tmp_path)
    terminal.read_until(lambda seen: "rlm> " in seen)
    terminal.type("a slow question\n")
    _wait_for(provider, lambda: bool(provider.sub_requests()))
    terminal.type("\x03")  # Ctrl-C, through the terminal line discipline
    terminal.read_until(lambda seen: seen.count("rlm> ") >= 2)
    terminal.type("the next question\n")
    terminal.read_until(lambda seen: "x + 1 = 42" in seen and seen.count("rlm> ") >= 3)
    terminal.type("the last question\n")
    terminal.read_until(lambda seen: "kept and 41" in seen and seen.count("rlm> ") >= 4)
    terminal.type("a looping question\n")  # never answered: the budget given on the command line stops it
    terminal.read_until(lambda seen: seen.count("rlm> ") >= 5)
    terminal.type("\x04")  # Ctrl-D ends the session
    assert terminal.wait() == 0
    looping = [r for r in provider.root_requests() if "a looping question" in str(r.messages[1]["content"])]
    assert len(looping) == 4 + 1  # four turns, then the request for its best answer at the limit

    runs = json.loads(rlm(["runs", "--json"]).stdout)["runs"]
    assert runs[0]["status"] == "max_iterations"
    runs = runs[1:]
    assert [run["question"] for run in runs] == ["the last question", "the next question", "a slow question"]
    assert [run["status"] for run in runs] == ["answer", "answer", "interrupt"]
    assert len({run["session"] for run in runs}) == 1 and runs[0]["session"]
    assert runs[0]["continues"] == runs[1]["run_id"] and runs[1]["continues"] == runs[2]["run_id"]
    follow = next(r for r in provider.root_requests() if "the next question" in str(r.messages[1]["content"]))
    assert "Question 1: a slow question" in str(follow.messages[1]["content"])
    assert "still defined" in str(follow.messages[1]["content"])
    assert (Path(os.environ["XDG_STATE_HOME"]) / "rlm" / "chat_history").read_text().count("question") == 4
