"""SIGTERM and SIGHUP, as `timeout`, systemd, CI runners and closed terminals send them, end a run
as Ctrl-C does: the partial answer printed, the trace closed, temp dirs removed, no child left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import forkserver
from tests.e2e.helpers import FAKE_KEY, model_flags
from tests.e2e.test_ask import processes_using
from tests.fakes.provider import FakeProvider, code, script


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Poll a condition (a callable) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


@pytest.mark.parametrize(("signum", "code_expected"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_stop_signal_keeps_the_partial_answer(
    provider: FakeProvider, tmp_path: Path, signum: signal.Signals, code_expected: int
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("some notes\n", encoding="utf-8")
    marker = tmp_path / "marks" / "in-cell"
    marker.parent.mkdir()
    provider.root_script = script(code(
        "import os", "answer['content'] = f'partial from {os.getcwd()}'",
        f"open({str(marker)!r}, 'w').close()", "import time; time.sleep(60)",
    ))
    trace, spool = tmp_path / "trace.jsonl", tmp_path / "tmp"
    spool.mkdir()
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "NO_COLOR": "1", "TMPDIR": str(spool)}
    process = forkserver.Forked(
        ["ask", str(source), "q?", "--json", "--trace", str(trace), "--allow-write", str(marker.parent), *model_flags(provider)],
        stdin=subprocess.DEVNULL, env=env, cwd=None,
    )
    wait_for(marker.exists)  # the cell has set the answer and is sleeping
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == code_expected, stderr
    assert stdout is not None and stderr is not None
    result = json.loads(stdout)
    assert result["stopped_by"] == "interrupt"
    assert result["answer"].startswith("partial from")
    assert result["error"] == f"terminated by {signal.Signals(signum).name}"
    assert "Traceback" not in stderr
    assert json.loads(trace.read_text().splitlines()[-1])["event"] == "RunFinished"
    assert list(spool.iterdir()) == []  # the spool and the worker's scratch are gone
    scratch = result["answer"].split()[-1]
    wait_for(lambda: processes_using(scratch) == [])


def test_a_forked_child_that_left_the_session_does_not_outlive_rlm(provider: FakeProvider, tmp_path: Path) -> None:
    """Process mode (under bubblewrap the PID namespace ends with its first process anyway)."""
    from rlm_cli.sandbox.tasks import task_group

    if task_group() is None:
        pytest.skip("no pids cgroup can be made here")  # the note in SECURITY.md covers this case
    source = tmp_path / "notes.txt"
    source.write_text("some notes\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    provider.root_script = script(
        code(
            "import ctypes, os, time",
            "libc = ctypes.CDLL(None, use_errno=True)",
            "pid = libc.fork()",
            "if pid == 0:",
            "    libc.setsid()",
            "    libc.sleep(120)",
            "    libc._exit(0)",
            f"open({str(out / 'pid')!r}, 'w').write(str(pid))",
        ),
        code("FINAL('done')"),
    )
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "NO_COLOR": "1"}
    done = forkserver.run(
        ["ask", str(source), "q?", "--allow-write", str(out), "--sandbox", "process", *model_flags(provider)],
        input="", env=env, cwd=None, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    child = int((out / "pid").read_text())
    wait_for(lambda: not Path(f"/proc/{child}").exists() or "State:\tZ" in Path(f"/proc/{child}/status").read_text())
