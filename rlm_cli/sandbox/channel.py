"""The host's end of a worker's control socket: every message in is checked (type, order, size),
sub-calls are served on threads within a bound, and no send waits past a timeout.

A worker that breaks the protocol or stops reading is cut off: `on_broken` kills it and a
`Closed` event carries the reason to whoever waits on `events`. Never raises into the host.
"""

from __future__ import annotations

import functools
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rlm_cli.sandbox import protocol
from rlm_cli.sandbox.calls import Broker, answer_call, failure, parse_call
from rlm_cli.sandbox.messages import (
    Call,
    Failed,
    Message,
    Op,
    ProtocolError,
    Ready,
    Reply,
    Result,
    Stored,
)
from rlm_cli.sandbox.threads import DaemonThreads

TICK = 0.1  # seconds the host's main thread waits at a time, so Ctrl-C is seen promptly
SEND_TIMEOUT = 5.0  # seconds a send may wait for the worker to read before it counts as wedged
MAX_CALLS = 64  # sub-calls in flight at once; past that the channel reads no more until one ends
MAX_CALL_BYTES = 128 * 1024**2  # bytes of sub-call messages in flight at once, likewise
_STARTING = frozenset({Op.READY, Op.FAILED})
_RUNNING = frozenset({Op.CALL, Op.RESULT, Op.STORED})
_SUBCALLS = DaemonThreads("rlm-cell-calls")  # every host channel's sub-calls, kept between them


@dataclass(frozen=True)
class Closed:
    """The channel ended: the worker closed it (`reason` None) or was cut off for `reason`."""

    reason: str | None = None


Event = Ready | Failed | Result | Stored | Closed


class SubcallClock:
    """Time with at least one sub-call in flight: the cell's clock stops meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (calls in flight, seconds counted before, since when the ones in flight run), replaced
        # whole under the lock, so `total` reads a consistent state without taking it
        self._state = (0, 0.0, 0.0)

    def paused(self) -> SubcallClock:
        """Count the time of the `with` block this opens as sub-call time."""
        return self

    def __enter__(self) -> None:
        self._add(+1)

    def __exit__(self, *_: object) -> None:
        self._add(-1)

    def _add(self, delta: int) -> None:
        with self._lock:
            now = time.monotonic()
            in_flight, total, since = self._state
            if in_flight == 0:
                since = now
            in_flight += delta
            if in_flight == 0:
                total += now - since
            self._state = (in_flight, total, since)

    def total(self) -> float:
        """Seconds spent with sub-calls in flight so far."""
        in_flight, total, since = self._state
        return total + (time.monotonic() - since if in_flight else 0.0)


class HostChannel:
    """Validated messages in (as `events`), bounded sends out, sub-calls served on threads."""

    def __init__(
        self, sock: socket.socket, broker: Broker, on_broken: Callable[[], None],
        limit: int = protocol.MAX_MESSAGE,
    ) -> None:
        self._sock = sock
        sock.settimeout(None)  # blocking: reads wait in recv, sends bound their own wait (send_by)
        self._broker = broker
        self._on_broken = on_broken
        self._reader = protocol.Reader(sock, limit)
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.clock = SubcallClock()
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the state below
        self._changed = threading.Condition(self._lock)  # a sub-call ended, or the channel did
        self._calls: dict[int, int] = {}  # id -> bytes, for the sub-calls in flight
        self._allowed = _STARTING
        self._awaiting: int | None = None  # the number of the cell whose Result may come
        self._storing = False  # a Save or Load was sent: its Stored may come
        self.ended: str | None = None  # why the channel ended, once it has

    def start(self) -> None:
        """Read the socket on a daemon thread."""
        threading.Thread(target=self._read_forever, name="rlm-worker-reader", daemon=True).start()

    def next_event(self, timeout: float) -> Event | None:
        """The next event within `timeout` seconds, else None. Waits in short slices: a signal
        landing on another thread (sub-calls run on many) only reaches the main thread's Python
        code when it wakes up, and one Ctrl-C must be enough."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                return self.events.get(timeout=min(left, TICK))
            except queue.Empty:
                continue
        return None

    def send(self, message: Message, timeout: float | None = None) -> None:
        """Send one message (any thread). OSError if the worker is gone or did not read in time
        (then it is cut off: a half-sent frame leaves the channel unusable)."""
        timeout = SEND_TIMEOUT if timeout is None else timeout
        if self.ended is not None:
            raise BrokenPipeError(f"the channel ended: {self.ended}")
        data = protocol.encode(message)
        deadline = time.monotonic() + timeout
        if not self._send_lock.acquire(timeout=timeout):
            self.cut_off("it stopped reading its control channel")
            raise TimeoutError("the control channel is wedged")
        try:
            protocol.send_by(self._sock, data, deadline)
        except TimeoutError:
            self.cut_off("it stopped reading its control channel")
            raise
        finally:
            self._send_lock.release()

    def expect_result(self, cell: int) -> None:
        """Cell number `cell` is about to be sent: its Result, and only that, may now arrive."""
        with self._lock:
            self._awaiting = cell

    def expect_stored(self) -> None:
        """A Save or Load is about to be sent: one Stored may now arrive."""
        with self._lock:
            self._storing = True

    def cut_off(self, reason: str) -> None:
        """End the channel for `reason`: the worker is killed and waiters see Closed(reason)."""
        with self._lock:
            if self.ended is not None:
                return
            self.ended = reason
            self._changed.notify_all()
        self._on_broken()
        self.events.put(Closed(reason))

    def _read_forever(self) -> None:
        while self.ended is None:
            try:
                body = self._reader.frame()
                self._accept(protocol.decode(body, self._allowed), len(body))
            except ProtocolError as error:
                self.cut_off(f"it broke the control protocol: {error}")
            except (OSError, ValueError, EOFError):  # closed (ValueError: by us, mid-read)
                with self._lock:
                    if self.ended is not None:
                        return
                    self.ended = "its control channel was closed"
                self.events.put(Closed())

    def _accept(self, message: Message, size: int) -> None:
        """Check one message against the channel's state, then act on it (the decode step
        already refused ops that are not expected now)."""
        if isinstance(message, Call):
            self._admit(message.id, size)
            _SUBCALLS.run(functools.partial(self._serve, message))
        elif isinstance(message, Result):
            with self._lock:
                if self._awaiting is None:
                    raise ProtocolError("a result when no cell was running")
                if message.cell != self._awaiting:
                    raise ProtocolError(f"a result for cell {message.cell} while cell {self._awaiting} ran")
                self._awaiting = None
            self.events.put(message)
        elif isinstance(message, Stored):
            with self._lock:
                if not self._storing:
                    raise ProtocolError("a stored message when no save or load was asked for")
                self._storing = False
            self.events.put(message)
        elif isinstance(message, Ready | Failed):
            self._allowed = _RUNNING
            self.events.put(message)

    def _admit(self, call_id: int, size: int) -> None:
        """Record a sub-call, waiting while too many are in flight (the flood is throttled)."""
        with self._lock:
            if call_id in self._calls:
                raise ProtocolError(f"call id {call_id} is already in flight")
            while self._calls and self.ended is None and (
                len(self._calls) >= MAX_CALLS or sum(self._calls.values()) + size > MAX_CALL_BYTES
            ):
                self._changed.wait()
            self._calls[call_id] = size

    def _serve(self, call: Call) -> None:
        # on a daemon thread of its own: calls run in parallel (the broker limits them), and a
        # call still waiting on a model when the host exits does not hold the exit up
        try:
            try:
                request = parse_call(call.kind, call.args)
            except ValueError as error:  # forged: the cell's contract functions send valid calls
                payload = failure(error)
            else:
                with self.clock.paused():  # only calls that reach the broker stop the cell's clock
                    payload = answer_call(self._broker, request)
            self.send(Reply(call.id, **payload))
        except OSError:  # the worker died or was cut off while the broker was busy
            pass
        finally:
            with self._lock:
                del self._calls[call.id]
                self._changed.notify_all()
