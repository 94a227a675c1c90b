"""No worker outlives its host: Ctrl-C while a cell runs or waits for a sub-call, or the host
killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.unit.sandbox_helpers import REAL_MODES, processes_in, wait_until

HOST = textwrap.dedent(
    """
    import sys
    from rlm_cli.sandbox import Sandbox, SandboxConfig
    from tests.unit.sandbox_helpers import FakeBroker

    with Sandbox(SandboxConfig(mode=sys.argv[1], cell_timeout=60), FakeBroker(delay=60)) as sandbox:
        print(sandbox.scratch_dir, flush=True)
        try:
            sandbox.execute(sys.argv[2])
        except KeyboardInterrupt:
            print(sandbox.answer["content"], flush=True)
            sys.exit(130)
    """
)
# the answer the cell sets before it blocks, and a file telling the test it is running
STARTED = "answer['content'] = 'so far'\nopen('started', 'w').close()\n"
BUSY = STARTED + "while True:\n    pass"
WAITING = STARTED + "llm_query('a slow model')"


def _start_host(mode: str, cell: str) -> tuple[subprocess.Popen[str], str]:
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, mode, cell], stdout=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert host.stdout is not None
    scratch = host.stdout.readline().strip()
    assert wait_until(lambda: os.path.exists(os.path.join(scratch, "started")), timeout=10)
    assert processes_in(scratch)
    return host, scratch


@pytest.mark.parametrize("cell", [BUSY, WAITING], ids=["busy", "waiting-for-a-sub-call"])
@pytest.mark.parametrize("mode", REAL_MODES)
def test_ctrl_c_during_a_cell_reaps_the_worker(mode: str, cell: str) -> None:
    host, scratch = _start_host(mode, cell)
    host.send_signal(signal.SIGINT)
    assert host.wait(timeout=10) == 130
    assert host.stdout is not None and host.stdout.read() == "so far\n"
    assert wait_until(lambda: not processes_in(scratch))


@pytest.mark.parametrize("mode", REAL_MODES)
def test_a_killed_host_takes_its_worker_along(mode: str) -> None:
    host, scratch = _start_host(mode, BUSY)
    host.kill()
    host.wait(timeout=10)
    assert wait_until(lambda: not processes_in(scratch))
