"""Run `python -m rlm_cli` as a child process without paying its imports each time.

Importing LiteLLM costs seconds of CPU, and the end-to-end tests start the command line about a
hundred times. A server process imports the command line and LiteLLM once; each invocation is a
fork of it that takes the test's stdin, stdout, stderr, working directory, environment and
arguments, then runs `python -m rlm_cli` as a fresh interpreter would (`runpy`, `__main__`) and
exits through the normal interpreter shutdown. Before the first fork the server also imports what
a run imports on its way (found by a throwaway fork that makes scripted runs) and freezes its heap
for the garbage collector, so a fork neither imports nor scans it again (about 1.5 s of CPU less
per fork). The child is a real process: its exit status,
output streams and signals are what the test sees. Tests about start-up itself (what is
imported, how fast) start a fresh interpreter instead.

`python -m tests.e2e.forkserver SOCKET` runs the server; `run()` is the client.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import io
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from rlm_cli.warm.preload import modules_loaded_by

_ROOT = Path(__file__).resolve().parents[2]
_MAX_REQUEST = 1 << 20


# The server -------------------------------------------------------------------------------------
def serve(path: str) -> None:
    """Import the command line and LiteLLM, then fork one child per request until stdin closes."""
    import rlm_cli.cli  # the imports are the point
    import rlm_cli.runner  # noqa: F401
    from rlm_cli.llm import litellm_module

    litellm_module()
    _import_what_a_run_imports()
    gc.freeze()  # a fork's collections then skip the inherited objects (and do not copy their pages)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    watched = os.dup(sys.stdin.fileno())  # read raw: a child must not inherit a held stdin lock
    threading.Thread(target=_exit_with_client, args=(watched,), daemon=True).start()
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        request, fds = _receive(conn)
        pid = os.fork()
        if pid == 0:
            listener.close()
            conn.close()
            os.close(watched)
            _become_cli(request, fds)  # never returns: the child exits as `python -m rlm_cli` would
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        threading.Thread(target=_report_exit, args=(conn, pid), daemon=True).start()


def _import_what_a_run_imports() -> None:
    """Import here what a run imports on its way (LiteLLM's HTTP stack, the renderers, the sandbox
    host), so that no fork pays for it: a throwaway fork makes scripted runs and names them."""
    for name in modules_loaded_by(_scripted_runs):
        if name.split(".")[0] != "tests":
            importlib.import_module(name)


def _scripted_runs() -> None:
    from tests.fakes.provider import FakeProvider, code, script

    quiet = os.open(os.devnull, os.O_RDWR)
    for target in range(3):
        os.dup2(quiet, target)
    with tempfile.TemporaryDirectory() as home, FakeProvider() as provider:
        provider.root_script = script(code("print(llm_query('hi'))", "answer['content'] = 'ok'"), code("FINAL_VAR('x')"))
        os.environ.update({
            "XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state",
            "OPENAI_API_KEY": "sk-warm-up", "NO_COLOR": "1",
        })
        source = Path(home, "in.txt")
        source.write_text("warm up\n")
        for extra in ([], ["--json"]):
            sys.argv = ["rlm", "ask", str(source), "q?", "--model", "openai/root", "--sub-model", "openai/sub",
                        "--api-base", provider.url, *extra]
            with contextlib.suppress(SystemExit):
                runpy.run_module("rlm_cli", run_name="__main__", alter_sys=True)


def _exit_with_client(fd: int) -> None:
    """The server ends when the test process that started it does (its stdin closes)."""
    while os.read(fd, 1 << 12):
        continue
    os._exit(0)


def _receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST, 3)
    return json.loads(data), list(fds)


def _report_exit(conn: socket.socket, pid: int) -> None:
    _, status = os.waitpid(pid, 0)
    with conn:
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def _become_cli(request: dict[str, object], fds: list[int]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    cwd, env, args = str(request["cwd"]), request["env"], request["args"]
    assert isinstance(env, dict) and isinstance(args, list)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path[0] = cwd  # as `python -m` run from there would have it
    sys.argv = ["rlm", *args]
    runpy.run_module("rlm_cli", run_name="__main__", alter_sys=True)
    sys.exit(0)


# The client -------------------------------------------------------------------------------------
class _Server:
    """The one server of this test process, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket = str(Path(tempfile.mkdtemp(prefix="rlm-forkserver-")) / "socket")

    def address(self) -> str:
        with self._lock:
            if self._process is None:
                env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.e2e.forkserver", self._socket], cwd=_ROOT, env=env,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                )
                assert self._process.stdout is not None
                if self._process.stdout.readline().strip() != b"ready":
                    raise RuntimeError("the fork server did not start")
                atexit.register(self._stop)
            return self._socket

    def _stop(self) -> None:
        """Kill the server and reap it, so its CPU time counts in this process's children."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()


_SERVER = _Server()


def run(
    args: Sequence[str], *, input: str, env: dict[str, str], cwd: str | os.PathLike[str] | None, timeout: float,
) -> subprocess.CompletedProcess[str]:
    """`python -m rlm_cli ARGS` in a fork of the server, as `subprocess.run(..., text=True)` would."""
    process = Forked(args, env=env, cwd=cwd)
    try:
        out, err = process.communicate(input, timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return subprocess.CompletedProcess(process.args, process.wait(), out, err)


class Forked:
    """`python -m rlm_cli ARGS` in a fork of the server, used as `subprocess.Popen(..., text=True)`:
    each stream is `subprocess.PIPE`, `subprocess.DEVNULL` or a file descriptor of the caller's."""

    def __init__(
        self, args: Sequence[str], *, env: dict[str, str], cwd: str | os.PathLike[str] | None,
        stdin: int = subprocess.PIPE, stdout: int = subprocess.PIPE, stderr: int = subprocess.PIPE,
    ) -> None:
        self.args = ["rlm", *args]
        self.returncode: int | None = None
        theirs, ours, made = [], {}, []
        for index, spec in enumerate((stdin, stdout, stderr)):
            if spec == subprocess.PIPE:
                read, write = os.pipe()
                theirs.append(read if index == 0 else write)
                ours[index] = write if index == 0 else read
                made.append(theirs[-1])
            elif spec == subprocess.DEVNULL:
                theirs.append(os.open(os.devnull, os.O_RDWR))
                made.append(theirs[-1])
            else:
                theirs.append(spec)
        request = json.dumps({"args": list(args), "env": env, "cwd": os.fspath(cwd or os.getcwd())}).encode()
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(_SERVER.address())
        socket.send_fds(self._conn, [request], theirs)
        for fd in made:
            os.close(fd)
        self._stdin = ours.get(0)
        self._readers = {index: _Collector(fd) for index, fd in ours.items() if index}
        self._lines = self._conn.makefile("rb")
        self.pid = int(self._lines.readline())

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, once the fork has ended (`subprocess.TimeoutExpired` after `timeout`)."""
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                self.returncode = int(self._lines.readline())
            except (TimeoutError, ValueError):
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            self._conn.close()
        return self.returncode

    def communicate(self, input: str = "", timeout: float | None = None) -> tuple[str | None, str | None]:
        """Write `input` to a piped stdin and close it, wait for the end, return the piped output."""
        if self._stdin is not None:
            threading.Thread(target=_feed, args=(self._stdin, input.encode()), daemon=True).start()
            self._stdin = None
        self.wait(timeout)
        out, err = (self._readers[index].text(timeout) if index in self._readers else None for index in (1, 2))
        return out, err

    def send_signal(self, signum: int) -> None:
        """Send a signal to the fork, while it runs."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _feed(fd: int, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError), open(fd, "wb") as pipe:
        pipe.write(data)


class _Collector:
    """Everything written to one pipe until its end of file, read on a thread."""

    def __init__(self, fd: int) -> None:
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        with open(fd, "rb") as pipe:
            while chunk := pipe.read1(1 << 16):
                self._chunks.append(chunk)

    def text(self, timeout: float | None) -> str:
        self._thread.join(timeout)  # a grandchild still holding the pipe does not hold the test up
        # decoded with universal newlines, as subprocess.run(..., text=True) does
        return io.TextIOWrapper(io.BytesIO(b"".join(self._chunks)), errors="replace").read()


if __name__ == "__main__":
    serve(sys.argv[1])
