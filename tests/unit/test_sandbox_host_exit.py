"""No worker outlives its host: Ctrl-C while a cell runs or waits for a sub-call, or the host
killed outright."""

from __future__ import annotations

import signal

import pytest

from tests.unit.sandbox_helpers import REAL_MODES, processes_in, start_host, wait_until

# the answer the cell sets before it blocks, and a file telling the test it is running
STARTED = "answer['content'] = 'so far'\nopen('started', 'w').close()\n"
BUSY = STARTED + "while True:\n    pass"
WAITING = STARTED + "llm_query('a slow model')"


@pytest.mark.parametrize("cell", [BUSY, WAITING], ids=["busy", "waiting-for-a-sub-call"])
@pytest.mark.parametrize("mode", REAL_MODES)
def test_ctrl_c_during_a_cell_reaps_the_worker(mode: str, cell: str) -> None:
    host, scratch = start_host(mode, cell)
    host.send_signal(signal.SIGINT)
    assert host.wait(timeout=10) == 130
    assert host.stdout is not None and host.stdout.read() == "so far\n"
    assert wait_until(lambda: not processes_in(scratch))


@pytest.mark.parametrize("mode", REAL_MODES)
def test_a_killed_host_takes_its_worker_along(mode: str) -> None:
    host, scratch = start_host(mode, BUSY)
    host.kill()
    host.wait(timeout=10)
    assert wait_until(lambda: not processes_in(scratch))
