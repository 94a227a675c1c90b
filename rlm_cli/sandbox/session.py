"""One worker process seen from the host: spawn and handshake, cells under a deadline, sub-calls
served on threads, and a kill that takes the worker's whole process group with it.

The hard deadline is the cell timeout plus a grace period; the worker interrupts itself at the
timeout, so the kill is for cells that ignore the interrupt. Time spent in sub-calls is not
counted, on either side.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox import protocol
from rlm_cli.sandbox.calls import Broker, serve_call
from rlm_cli.sandbox.drain import RawOutput

EXIT_WAIT = 1.0  # seconds a worker that closed its channel gets to exit before it is killed


class WorkerSession:
    """A running worker process and its control channel."""

    def __init__(
        self,
        command: Callable[[int], list[str]],
        env: dict[str, str],
        cwd: str,
        init: dict[str, Any],
        broker: Broker,
        start_timeout: float,
    ) -> None:
        self._broker = broker
        self._events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._send_lock = threading.Lock()
        self._clock_lock = threading.Lock()
        self._in_flight = 0
        self._paused_total = 0.0
        self._paused_since = 0.0
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
        self._raw = RawOutput(ours[0], ours[1], init["capture_limit"])
        threading.Thread(target=self._read_forever, name="rlm-worker-reader", daemon=True).start()
        self._handshake(init, start_timeout)

    def _handshake(self, init: dict[str, Any], timeout: float) -> None:
        try:
            self._send(init)
            reply = self._events.get(timeout=timeout)
        except (OSError, queue.Empty):
            reply = {"op": "closed"}
        except BaseException:  # Ctrl-C while starting
            self.close()
            raise
        if reply.get("op") == "ready":
            return
        self.close()
        _, err = self._raw.take()
        detail = reply.get("error") or err.getvalue().strip() or self._describe_exit()
        raise SandboxError(f"the REPL worker did not start: {detail}")

    def _send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            protocol.send(self._sock, message)

    def _read_forever(self) -> None:
        while True:
            try:
                message = protocol.recv(self._sock)
            except (OSError, ValueError, protocol.ChannelClosed):
                self._events.put({"op": "closed"})  # dead, or it spoke garbage: both end it
                return
            if message.get("op") == "call":
                # one daemon thread per call: calls run in parallel (the broker limits them), and a
                # call still waiting on a model when the host exits does not hold the exit up
                self._pause(+1)
                threading.Thread(target=self._serve, args=(message,), name="rlm-subcall", daemon=True).start()
            else:
                self._events.put(message)

    def _serve(self, message: dict[str, Any]) -> None:
        try:
            reply = serve_call(self._broker, message.get("kind", ""), message.get("args") or {})
            self._send({"op": "reply", "id": message["id"], **reply})
        except OSError:  # the worker died while the broker was busy
            pass
        finally:
            self._pause(-1)

    def _pause(self, delta: int) -> None:
        """Track sub-calls in flight; the cell's clock stops while there is any."""
        with self._clock_lock:
            now = time.monotonic()
            if self._in_flight == 0 and delta > 0:
                self._paused_since = now
            self._in_flight += delta
            if self._in_flight == 0:
                self._paused_total += now - self._paused_since

    def _paused_clock(self) -> float:
        with self._clock_lock:
            ongoing = time.monotonic() - self._paused_since if self._in_flight else 0.0
            return self._paused_total + ongoing

    def set_variable(self, name: str, value: Any) -> None:
        """Bind a name in the worker (ordered before any later cell)."""
        with contextlib.suppress(OSError):  # a dead worker's successor gets it in its init
            self._send({"op": "set", "name": name, "value": value})

    def run(self, code: str, timeout: float, grace: float) -> dict[str, Any]:
        """Run a cell. A dict with `died: True` and a `reason` when the worker did not survive."""
        started, paused_at_start = time.monotonic(), self._paused_clock()
        try:
            self._send({"op": "exec", "code": code, "timeout": timeout})
        except OSError:
            return self._died(started, timed_out=False)
        while True:
            busy = time.monotonic() - started - (self._paused_clock() - paused_at_start)
            remaining = timeout + grace - busy
            if remaining <= 0:
                return self._died(started, timed_out=True)
            try:
                message = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if message.get("op") == "closed":
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(EXIT_WAIT)  # let it finish dying, to report how
                return self._died(started, timed_out=False)
            if message.get("op") == "result":
                return self._with_raw_output(message)

    def interrupt(self, wait: float) -> dict[str, Any] | None:
        """Ask the worker to interrupt its cell (Ctrl-C); the cell's result if it comes in time."""
        with contextlib.suppress(OSError):
            self._send({"op": "interrupt"})
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self._events.get(timeout=left)
            except queue.Empty:
                return None
            if message.get("op") in ("result", "closed"):
                return message if message["op"] == "result" else None
        return None

    def _with_raw_output(self, result: dict[str, Any]) -> dict[str, Any]:
        out, err = self._raw.take()
        for name, raw in (("stdout", out), ("stderr", err)):
            if raw.total:
                result[name] += raw.getvalue()
                result[f"{name}_chars"] += raw.total
        return result

    def _died(self, started: float, timed_out: bool) -> dict[str, Any]:
        self.close()
        result = {
            "died": True, "timed_out": timed_out, "reason": self._describe_exit(),
            "duration_s": time.monotonic() - started, "stdout": "", "stderr": "",
            "stdout_chars": 0, "stderr_chars": 0,
        }
        return self._with_raw_output(result)

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

    def close(self) -> None:
        """Kill the worker's process group, reap it, release the channel. Idempotent."""
        if self.process.returncode is None:  # not reaped yet, so the group id is still ours
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._sock.close()
        self._raw.close()

