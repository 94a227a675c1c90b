"""One worker process seen from the host: spawn and handshake, cells under their deadlines, and a
kill that takes the worker's whole process group with it.

A cell has two limits, both enforced here whatever the worker does: its own time (sub-call time
not counted; the worker interrupts itself at the timeout, the kill after a grace period is for
cells that ignore it) and, when given, a wall-clock deadline (the run's --timeout), sub-calls
included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox.calls import Broker
from rlm_cli.sandbox.channel import Closed, HostChannel
from rlm_cli.sandbox.drain import RawOutput
from rlm_cli.sandbox.messages import (
    Exec,
    Failed,
    Init,
    Interrupt,
    Load,
    Ready,
    Result,
    Save,
    SetVariable,
    Stored,
)

EXIT_WAIT = 1.0  # seconds a worker that closed its channel gets to exit before it is killed
CHECK_EVERY = 1.0  # seconds between a running cell's `stop_if` checks


@dataclass(frozen=True)
class Died:
    """A cell during which the worker ended (or was killed); what it printed raw is kept."""

    timed_out: bool
    reason: str
    duration_s: float
    stdout: str = ""
    stderr: str = ""
    stdout_chars: int = 0
    stderr_chars: int = 0


class WorkerSession:
    """A running worker process and its control channel."""

    def __init__(
        self, command: Callable[[int], list[str]], env: dict[str, str], cwd: str, init: Init,
        broker: Broker, start_timeout: float, enter: Callable[[int], None],
    ) -> None:
        self._reap_lock = threading.Lock()
        self._cells = 0
        self._sock, theirs = socket.socketpair()
        ours: list[int] = []  # read ends of the worker's stdout and stderr pipes
        given: list[int] = []  # their write ends: the worker's, closed here once it has them
        try:
            for _ in range(2):
                read_end, write_end = os.pipe()
                ours.append(read_end)
                given.append(write_end)
            self.process = subprocess.Popen(
                command(theirs.fileno()), pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=given[0], stderr=given[1], cwd=cwd, env=env, start_new_session=True,
            )
        except BaseException as error:  # not started: nothing else will release our ends
            self._sock.close()
            for fd in ours:
                os.close(fd)
            if isinstance(error, OSError):
                raise SandboxError(f"cannot start the REPL worker: {error}") from None
            raise
        finally:
            theirs.close()
            for fd in given:
                os.close(fd)
        self._raw = RawOutput(ours[0], ours[1], init.capture_limit)
        self._channel = HostChannel(self._sock, broker, self._kill, init.max_message)
        self._channel.start()
        try:
            enter(self.process.pid)  # the worker's process tree, before its Init: no cell runs outside its limits
        except OSError as error:
            self.close()
            raise SandboxError(f"cannot start the REPL worker: {error}") from None
        self._handshake(init, start_timeout)

    def _handshake(self, init: Init, timeout: float) -> None:
        try:
            self._channel.send(init)
            event = self._channel.next_event(timeout) or Closed()
        except OSError:
            event = Closed()
        except BaseException:  # Ctrl-C while starting
            self.close()
            raise
        if isinstance(event, Ready):
            return
        self.close()
        _, err = self._raw.take()
        detail = (event.error if isinstance(event, Failed) else event.reason if isinstance(event, Closed) else None)
        raise SandboxError(f"the REPL worker did not start: {detail or err.getvalue().strip() or self._describe_exit()}")

    def ended(self) -> str | None:
        """Why the worker is no longer usable (it exited, or was cut off), or None."""
        return self._channel.ended

    def set_variable(self, name: str, value: object) -> None:
        """Bind a name in the worker (ordered before any later cell)."""
        with contextlib.suppress(OSError):  # a dead worker's successor gets it in its init
            self._channel.send(SetVariable(name, value))

    def store(self, command: Save | Load, timeout: float) -> Stored | None:
        """Have the worker save or load its variables; None when it did not answer in `timeout`
        seconds (it is then closed: a worker stuck in a pickle is no use)."""
        self._channel.expect_stored()
        try:
            self._channel.send(command)
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            event = self._channel.next_event(left)
            if isinstance(event, Stored):
                return event
            if isinstance(event, Closed):
                return None
        self.close()
        return None

    def run(
        self, code: str, timeout: float, grace: float, deadline: float | None = None,
        stop_if: Callable[[], str | None] | None = None,
    ) -> Result | Died:
        """Run a cell within `timeout` of its own time and before the wall-clock `deadline`;
        `stop_if`, asked every CHECK_EVERY seconds of a cell, ends it when it names a reason."""
        started, paused_at_start = time.monotonic(), self._channel.clock.total()
        next_check = started + CHECK_EVERY  # a quick cell is checked once it has ended, by the caller
        self._cells += 1
        self._channel.expect_result(self._cells)
        try:
            self._channel.send(Exec(code, timeout, self._cells))
        except OSError:
            return self._died(started, timed_out=False)
        while True:
            now = time.monotonic()
            busy = now - started - (self._channel.clock.total() - paused_at_start)
            remaining = timeout + grace - busy
            if deadline is not None:
                remaining = min(remaining, deadline + grace - now)
            if remaining <= 0:
                return self._died(started, timed_out=True)
            if stop_if is not None and now >= next_check:
                if (reason := stop_if()) is not None:
                    return self._died(started, timed_out=False, reason=reason)
                next_check = now + CHECK_EVERY
            event = self._channel.next_event(remaining if stop_if is None else min(remaining, CHECK_EVERY))
            if event is None:
                continue
            if isinstance(event, Closed):
                if event.reason is None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._reap(EXIT_WAIT)  # let it finish dying, to report how
                return self._died(started, timed_out=False, reason=event.reason)
            if isinstance(event, Result):
                return self._with_raw_output(event)

    def interrupt(self, wait: float) -> Result | None:
        """Ask the worker to interrupt its cell (Ctrl-C); the cell's result if it comes in time."""
        deadline = time.monotonic() + wait
        with contextlib.suppress(OSError):
            self._channel.send(Interrupt(), timeout=wait)
        while (event := self._channel.next_event(deadline - time.monotonic())) is not None:
            if isinstance(event, Result | Closed):
                return event if isinstance(event, Result) else None
        return None

    def _with_raw_output(self, result: Result) -> Result:
        out, err = self._raw.take()
        if not out.total and not err.total:
            return result
        return dataclasses.replace(
            result, stdout=result.stdout + out.getvalue(), stderr=result.stderr + err.getvalue(),
            stdout_chars=result.stdout_chars + out.total, stderr_chars=result.stderr_chars + err.total,
        )

    def _died(self, started: float, timed_out: bool, reason: str | None = None) -> Died:
        self.close()
        out, err = self._raw.take()
        return Died(
            timed_out=timed_out, reason=reason or self._describe_exit(),
            duration_s=time.monotonic() - started, stdout=out.getvalue(), stderr=err.getvalue(),
            stdout_chars=out.total, stderr_chars=err.total,
        )

    def _describe_exit(self) -> str:
        """How the worker ended, in words."""
        code = self.process.poll()
        if code is None:
            return "still running"
        # bubblewrap reports a child killed by signal N as exit status 128 + N
        signum = -code if code < 0 else code - 128 if code > 128 else 0
        if signum:
            try:
                name = signal.Signals(signum).name
            except ValueError:
                name = f"signal {signum}"
            hint = ", perhaps out of memory" if signum == signal.SIGKILL else ""
            return f"killed by {name}{hint}"
        return f"exit status {code}"

    def _kill(self) -> None:
        """SIGKILL the worker's process group (any thread); reaping is left to close()."""
        with self._reap_lock:
            if self.process.returncode is None:  # not reaped yet, so the group id is still ours
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)

    def _reap(self, timeout: float | None = None) -> None:
        with self._reap_lock:  # so _kill never signals a group id already reaped and reused
            self.process.wait(timeout)

    def close(self) -> None:
        """Kill the worker's process group, reap it, release the channel. Idempotent."""
        self._kill()
        self._reap()
        self._channel.cut_off("the worker was closed")
        with contextlib.suppress(OSError):  # wakes the reader, even if some process kept the other end
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._raw.close()
