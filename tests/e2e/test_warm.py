"""A warm process: after a run on a terminal, the next `rlm ask` runs in a fork of a process that
has LiteLLM loaded, on the caller's own streams, with its signals, and its exit status.

Every process here is a fresh interpreter (`python -m rlm_cli`), as a user's shell starts it: a
server serves only callers with its interpreter, import path and environment.
"""

from __future__ import annotations

import os
import pty
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import FAKE_KEY, warm_server
from tests.fakes.provider import FakeProvider, code, script
from tests.security.terminal import read_terminal

ERASE = "\r\x1b[2K"
# The answer names the process that ran the host (the REPL worker's parent, in process mode).
WHO_RAN = code(
    "import os",
    "answer['content'] = f'host {os.getppid()} read {len(context)}'",
    "answer['ready'] = True",
)
LOOK = code("print(context[:40])")  # a first look, as models take one before answering
SLOW_CELL = code("answer['content'] = 'draft so far'", "import time", "print('waiting', flush=True)", "time.sleep(60)")


@dataclass
class Warm:
    """A server started by a cold run on a terminal, and how to call `rlm` beside it."""

    env: dict[str, str]
    provider: FakeProvider
    server: int
    source: Path

    def start(self, *args: str, stdin: int | None = subprocess.DEVNULL, env: dict[str, str] | None = None,
              stdout: int = subprocess.PIPE, stderr: int = subprocess.PIPE,
              before: Callable[[], object] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "rlm_cli", "ask", *args, "--model", "openai/root", "--api-base", self.provider.url,
             "--sandbox", "process", "--progress", "plain"],
            stdin=stdin, stdout=stdout, stderr=stderr, env={**self.env, **(env or {})}, text=True, preexec_fn=before,
        )

    def children(self) -> set[int]:
        return descendants(self.server)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = {int(child) for child in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(children - found)
            found |= children
    return found


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def on_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str, int]:
    """Run with stdout and stderr on a terminal: exit code, the screen, the pid."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    try:
        screen = read_terminal(controller, 90)
    finally:
        code = process.wait(timeout=90)
    return code, screen, process.pid


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warm]:
    home = tmp_path_factory.mktemp("warm")
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    source = home / "notes.txt"
    source.write_text("the meeting moved to Thursday\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("RLM_")}
    env.update({
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"), "XDG_RUNTIME_DIR": str(runtime), "OPENAI_API_KEY": FAKE_KEY,
        "TERM": "xterm-256color", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    })
    env.pop("NO_COLOR", None)
    with FakeProvider() as provider:
        provider.root_script = script(LOOK, WHO_RAN)
        argv = [sys.executable, "-m", "rlm_cli", "ask", str(source), "who ran this?", "--model", "openai/root",
                "--api-base", provider.url, "--sandbox", "process"]
        try:
            code_, screen, pid = on_terminal(argv, env)
            assert code_ == 0, screen
            assert f"host {pid} read 30" in screen  # this run was cold: its own process ran the host
            wait_until(lambda: warm_server(runtime) is not None, "the warm server")
            server = warm_server(runtime)
            assert server is not None
            yield Warm(env, provider, server, source)
        finally:
            _stop_servers(runtime)


def _stop_servers(runtime: Path) -> None:
    """End every server the runs left (the lock file names it), and wait until it has."""
    for lock in (runtime / "rlm").glob("*.lock"):
        pid = lock.read_text().strip()
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            os.kill(int(pid), signal.SIGTERM)
            wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z",
                       "the server to end")


def test_the_next_ask_runs_in_a_fork_of_the_warm_process(warm: Warm) -> None:
    warm.provider.root_script = script(LOOK, WHO_RAN)
    process = warm.start(str(warm.source), "who ran this?", "--json")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert '"answer": "host ' in out
    host = int(out.split('"answer": "host ')[1].split()[0])
    assert host != process.pid  # a child of the server ran it, not this process
    assert "rlm_cli.warm" in Path(f"/proc/{warm.server}/cmdline").read_text()
    assert warm.children() == set()  # and it has ended


def test_piped_stdin_reaches_the_warm_run(warm: Warm) -> None:
    warm.provider.root_script = script(LOOK, WHO_RAN)
    process = warm.start("-", "who ran this?", stdin=subprocess.PIPE)
    out, err = process.communicate("twelve bytes", timeout=60)
    assert process.returncode == 0, err
    assert "read 12" in out
    assert f"host {process.pid} " not in out


def test_the_run_keeps_the_callers_niceness_and_limits(warm: Warm) -> None:
    warm.provider.root_script = script(LOOK, code(
        "import os, resource",
        "answer['content'] = f'nice {os.getpriority(os.PRIO_PROCESS, 0)} fsize {resource.getrlimit(resource.RLIMIT_FSIZE)[0]}'",
        "answer['ready'] = True",
    ))

    def lower() -> None:
        os.nice(7)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 30, resource.RLIM_INFINITY))

    process = warm.start(str(warm.source), "how nice?", before=lower)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"nice 7 fsize {1 << 30}" in out  # the REPL worker inherited them from the run's host


def test_exit_status_and_errors_come_back(warm: Warm, tmp_path: Path) -> None:
    process = warm.start(str(tmp_path / "missing.txt"), "why?")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.startswith("rlm: error:") and "missing.txt" in err
    assert out == ""


def slow_run(warm: Warm, errors: Path) -> subprocess.Popen[str]:
    """A warm run whose cell sleeps, once the cell has started; its stderr goes to `errors`."""
    warm.provider.root_script = script(SLOW_CELL)
    with errors.open("w") as stderr:
        process = warm.start(str(warm.source), "slow?", stderr=stderr.fileno())
    wait_until(lambda: "running" in errors.read_text(), "the cell to start")
    return process


def test_ctrl_c_reaches_the_warm_run_and_keeps_the_draft(warm: Warm, tmp_path: Path) -> None:
    process = slow_run(warm, tmp_path / "stderr")
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130, (tmp_path / "stderr").read_text()
    assert "draft so far" in out
    wait_until(lambda: warm.children() == set(), "the run and its worker to end")


def test_a_killed_caller_hangs_up_its_run(warm: Warm, tmp_path: Path) -> None:
    process = slow_run(warm, tmp_path / "stderr")
    running = warm.children()
    assert len(running) >= 2  # the run's host and its REPL worker
    process.kill()
    process.wait(timeout=60)
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in running), "the run and its worker to end")


def test_a_warm_run_on_a_terminal_takes_over_the_early_line(warm: Warm) -> None:
    warm.provider.root_script = script(LOOK, WHO_RAN)
    argv = [sys.executable, "-m", "rlm_cli", "ask", str(warm.source), "who ran this?", "--model", "openai/root",
            "--api-base", warm.provider.url, "--sandbox", "process", "--no-trace"]
    code_, screen, pid = on_terminal(argv, {**warm.env, "COLUMNS": "100", "LINES": "40"})
    assert code_ == 0, screen
    assert screen.startswith(f"{ERASE}rlm: starting …{ERASE}rlm: reading")  # one line, taken over in place
    assert "host " in screen and f"host {pid} " not in screen


def test_rlm_warm_0_runs_in_the_callers_own_process(warm: Warm) -> None:
    warm.provider.root_script = script(LOOK, WHO_RAN)
    process = warm.start(str(warm.source), "who ran this?", env={"RLM_WARM": "0"})
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    assert f"host {process.pid} read 30" in out


REACH_THE_SERVER = code(
    "import json, socket",
    "found = [line.split()[-1] for line in open('/proc/self/net/unix') if line.rstrip().endswith('.sock') and '/rlm/' in line]",
    "outcome = []",
    "for path in found:",
    "    request = {'args': ['ask', '/', 'q', '--sandbox', 'none'], 'env': {}, 'umask': 18, 'nice': 0, 'limits': {},",
    "               'started': 0.0, 'early': False, 'token': '0' * 64}",
    "    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:",
    "        conn.connect(path)",
    "        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2, 0])",
    "        outcome.append(conn.recv(64).decode() or 'refused')",
    "answer['content'] = f'found {len(found)}: {outcome}'",
    "answer['ready'] = True",
)


def test_a_cell_that_finds_the_warm_socket_gets_nothing_from_it(warm: Warm) -> None:
    """Process mode shares the host's network namespace, so a cell can read the socket's path in
    /proc/self/net/unix and (with --allow-net, or through ctypes) connect: it has no token, and
    runs under no_new_privs, so the server hands it nothing."""
    warm.provider.root_script = script(LOOK, REACH_THE_SERVER)
    process = warm.start(str(warm.source), "reach it?", "--allow-net", env={"RLM_WARM": "0"})
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    assert "found 1: ['refused']" in out
    assert warm.children() == set()
