"""The daemon threads that serve sub-calls: every job at once, threads kept, a fresh context."""

from __future__ import annotations

import contextvars
import os
import select
import threading
import time

from rlm_cli.sandbox.threads import DaemonThreads

WAIT = 10.0


def idle_after(pool: DaemonThreads, count: int) -> bool:
    """Whether `count` of the pool's threads wait for work within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while pool._idle != count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def named(name: str) -> int:
    return sum(thread.name == name for thread in threading.enumerate())


def test_every_job_runs_at_once_however_many_wait() -> None:
    pool, together = DaemonThreads("test-at-once"), threading.Barrier(20, timeout=WAIT)
    finished = threading.Semaphore(0)

    def job() -> None:
        together.wait()  # passes only when all 20 run at the same time
        finished.release()

    for _ in range(20):
        pool.run(job)
    assert all(finished.acquire(timeout=WAIT) for _ in range(20))
    assert all(thread.daemon for thread in threading.enumerate() if thread.name == "test-at-once")


def test_threads_are_kept_for_the_next_jobs_and_each_starts_in_an_empty_context() -> None:
    pool, flag = DaemonThreads("test-kept"), contextvars.ContextVar("flag", default="unset")
    seen: list[str] = []
    done = threading.Semaphore(0)

    def job() -> None:
        seen.append(flag.get())
        flag.set("left by an earlier job")
        done.release()

    for _ in range(3):
        pool.run(job)
        assert done.acquire(timeout=WAIT)
        assert idle_after(pool, 1)
    assert seen == ["unset"] * 3
    assert named("test-kept") == 1


def test_a_forked_child_starts_its_own_threads() -> None:
    pool, done = DaemonThreads("test-fork"), threading.Event()
    pool.run(done.set)
    assert done.wait(WAIT) and idle_after(pool, 1)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the idle thread above did not come along
        try:
            pool.run(lambda: os.write(writer, b"ran"))
            select.select([reader], [], [], WAIT)
        finally:
            os._exit(0)
    os.close(writer)
    try:
        assert select.select([reader], [], [], WAIT)[0] and os.read(reader, 3) == b"ran"
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
