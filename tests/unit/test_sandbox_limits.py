"""Limits that must hold for any user, root included, as "attack -> expected outcome"."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from rlm_cli.sandbox import tasks
from tests.unit.sandbox_helpers import SandboxFactory, wait_until


def test_a_thread_bomb_stops_at_the_task_ceiling(make: SandboxFactory) -> None:
    """Threads count as tasks: past the ceiling (the pids cgroup, or RLIMIT_NPROC) no more start."""
    result = make().execute(
        "import threading\n"
        "threading.stack_size(64 * 1024)  # small stacks: the memory limit alone would not stop it\n"
        "release = threading.Event()\n"
        "started = 0\n"
        "try:\n"
        "    for _ in range(4 * MAX):\n"
        "        threading.Thread(target=release.wait, daemon=True).start()\n"
        "        started += 1\n"
        "except RuntimeError as error:\n"
        "    stopped = str(error)\n"
        "release.set()\n"
        "(started < 4 * MAX, stopped)".replace("MAX", str(tasks.MAX_TASKS))
    )
    assert result.error is None, result.error
    assert result.value_repr == "(True, \"can't start new thread\")"


def test_the_task_group_is_used_where_the_kernel_offers_one() -> None:
    """A process that forked before the move (as bwrap does at once) goes in with its children."""
    group = tasks.task_group()
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & read _"], stdin=subprocess.PIPE)
    try:
        assert wait_until(lambda: _descendants(parent.pid) != [])
        tasks.join(parent.pid)
        tree = [parent.pid, *_descendants(parent.pid)]
        members = _members(group) if group is not None else []
    finally:
        for pid in _descendants(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
    if group is not None:  # else no writable pids cgroup here: RLIMIT_NPROC is the bound
        assert (group / "pids.max").read_text().strip() == str(tasks.MAX_TASKS)
        assert len(tree) == 2 and set(tree) <= set(members)
        stale = group.parent / f"rlm-{_dead_pid()}"
        stale.mkdir()
        tasks._sweep(group.parent)  # what the next host does first: groups of dead hosts go
        assert not stale.exists() and group.exists()


def _descendants(pid: int) -> list[int]:
    return tasks._descendants(pid)


def _members(group: Path) -> list[int]:
    return [int(line) for line in (group / "cgroup.procs").read_text().split()]


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_cell_filling_the_disk_stops_at_the_scratch_cap(make: SandboxFactory) -> None:
    """1 MB files written forever: stopped once the scratch holds more than its cap, the files
    removed, the answer and the REPL's next cell intact."""
    sandbox = make(scratch_limit=20 * 1024**2, cell_timeout=60)
    sandbox.execute("answer['content'] = 'draft'")
    hoard = sandbox.execute(
        "import itertools\n"
        "block = b'x' * (1024 * 1024)\n"
        "for n in itertools.count():\n"
        "    with open(f'hoard-{n}', 'wb') as out:\n"
        "        out.write(block)\n"
    )
    assert hoard.restarted and not hoard.timed_out
    assert "passed 20.0 MiB" in (hoard.error or "") and "every file in it was removed" in (hoard.notice or "")
    assert sandbox.scratch_dir is not None and list(sandbox.scratch_dir.iterdir()) == []
    assert sandbox.answer["content"] == "draft"
    assert sandbox.execute("print('still here')").stdout == "still here\n"


def test_a_scratch_past_the_cap_between_cells_is_emptied(make: SandboxFactory) -> None:
    sandbox = make(scratch_limit=1024**2)
    result = sandbox.execute("open('big', 'wb').write(b'x' * 3 * 1024 * 1024)")  # quicker than a check
    assert "every file in it was removed" in (result.notice or "")
    assert sandbox.scratch_dir is not None and not (sandbox.scratch_dir / "big").exists()
