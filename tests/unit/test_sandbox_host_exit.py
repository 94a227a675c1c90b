"""No worker outlives its host: Ctrl-C while a cell runs, or the host killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.unit.sandbox_helpers import REAL_MODES, processes_in, wait_until

HOST = textwrap.dedent(
    """
    import sys
    from rlm_cli.sandbox import Sandbox, SandboxConfig
    from tests.unit.sandbox_helpers import FakeBroker

    with Sandbox(SandboxConfig(mode=sys.argv[1], cell_timeout=60), FakeBroker()) as sandbox:
        print(sandbox.scratch_dir, flush=True)
        try:
            sandbox.execute("print('started', flush=True)\\nwhile True:\\n    pass")
        except KeyboardInterrupt:
            sys.exit(130)
    """
)


def _start_host(mode: str) -> tuple[subprocess.Popen[str], str]:
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, mode], stdout=subprocess.PIPE, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert host.stdout is not None
    scratch = host.stdout.readline().strip()
    assert wait_until(lambda: bool(processes_in(scratch)), timeout=5)
    time.sleep(0.3)  # the host is inside execute() by now
    return host, scratch


@pytest.mark.parametrize("mode", REAL_MODES)
def test_ctrl_c_during_a_cell_reaps_the_worker(mode: str) -> None:
    host, scratch = _start_host(mode)
    host.send_signal(signal.SIGINT)
    assert host.wait(timeout=10) == 130
    assert wait_until(lambda: not processes_in(scratch))


@pytest.mark.parametrize("mode", REAL_MODES)
def test_a_killed_host_takes_its_worker_along(mode: str) -> None:
    host, scratch = _start_host(mode)
    host.kill()
    host.wait(timeout=10)
    assert wait_until(lambda: not processes_in(scratch))
