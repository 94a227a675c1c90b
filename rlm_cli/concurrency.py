"""How many sub-call requests may be in flight: an adaptive limit, lowered on 429s, raised again.

AIMD: each reply that was not a rate-limit, while the limit was in use, raises it by 1/limit
(about one more slot per round of replies; a limit nobody fills does not grow), each 429 multiplies it by BACKOFF, never below 1 nor above the run's
`--concurrency`. Only a 429 to a request sent under the current limit lowers it: the others of
that burst were sent under a higher one, and the next lower limit already answers them. Standard
library only; the broker holds a slot per sub-call, `llm.py` hands it back while it waits on a
429 (`throttled`), so a retry never counts against the provider's limit while it sleeps.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
BACKOFF = 0.7  # the multiplicative decrease: a sawtooth between 70% and 100% of what the provider takes


@dataclass(frozen=True)
class LimitTrace:
    """What the limit did during a run (for `--json` and the benchmarks)."""

    limit_max: int
    limit_min: int
    limit_final: int
    backoffs: int
    max_in_flight: int

    def to_dict(self) -> dict[str, int]:
        """The JSON form."""
        return dataclasses.asdict(self)


# (new limit, why: "backoff" or "recovered") for each change of the whole-number limit
OnChange = Callable[[int, str], None]


class AdaptiveLimit:
    """Slots for requests in flight, at most `maximum`, fewer after rate limits. Thread-safe."""

    def __init__(self, maximum: int, on_change: OnChange | None = None) -> None:
        self.maximum = max(1, maximum)
        self.on_change = on_change
        self._limit = float(self.maximum)
        self._epoch = 0  # bumped at each decrease: a slot from an older epoch was sent under a higher limit
        self._in_use = 0
        self._min = self.maximum
        self._backoffs = 0
        self._max_in_flight = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        """Requests that may be in flight now."""
        return max(1, int(self._limit))

    @property
    def in_flight(self) -> int:
        """Slots held now."""
        return self._in_use

    def acquire(self) -> int:
        """Wait for a slot; returns its epoch, for `release`."""
        with self._cond:
            while self._in_use >= self.limit:
                self._cond.wait()
            self._in_use += 1
            self._max_in_flight = max(self._max_in_flight, self._in_use)
            return self._epoch

    def release(self, epoch: int, *, throttled: bool = False) -> bool:
        """Give a slot back; `throttled`: its request got a 429. True when the limit is lower now
        than when the slot was taken (the request may go again at once, within the new limit)."""
        with self._cond:
            self._in_use -= 1
            before = self.limit
            if throttled and epoch == self._epoch and self._limit > 1:
                self._limit = max(1.0, self._limit * BACKOFF)
                self._epoch += 1
                self._backoffs += 1
                self._min = min(self._min, self.limit)
            elif not throttled and self._limit < self.maximum and self._in_use + 1 >= self.limit:
                self._limit = min(float(self.maximum), self._limit + 1 / self._limit)
            after = self.limit
            self._cond.notify_all()
            lowered = throttled and epoch < self._epoch
        if after != before and self.on_change is not None:
            self.on_change(after, "backoff" if after < before else "recovered")
        return lowered

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for one call (its retries included); binds it for `throttled`."""
        held = _Held(self, self.acquire())
        token = _current.set(held)
        try:
            yield
        finally:
            _current.reset(token)
            held.give_back(throttled=False)

    def trace(self) -> LimitTrace:
        """The limit's history so far."""
        with self._cond:
            return LimitTrace(self.maximum, self._min, self.limit, self._backoffs, self._max_in_flight)


class _Held:
    """The slot a thread's call holds: handed back while a 429 waits, taken again before a retry."""

    def __init__(self, limit: AdaptiveLimit, epoch: int) -> None:
        self.limit = limit
        self.epoch: int | None = epoch

    def give_back(self, *, throttled: bool) -> bool:
        if self.epoch is None:
            return False
        epoch, self.epoch = self.epoch, None
        return self.limit.release(epoch, throttled=throttled)

    def take(self) -> None:
        if self.epoch is None:
            self.epoch = self.limit.acquire()


_current: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("rlm_concurrency_slot", default=None)


def throttled(send: Callable[[], T], is_rate_limit: Callable[[BaseException], bool]) -> T:
    """`send()` within the calling thread's slot, if it holds one (else just `send()`).

    A 429 gives the slot back and lowers the limit; when the limit has come down since the request
    went out, it is sent again as soon as a slot is free, without counting as a retry. Any other
    429 is raised (the caller's retry policy waits), the slot taken again before the next attempt.
    """
    held = _current.get()
    if held is None:
        return send()
    while True:
        held.take()
        try:
            return send()
        except Exception as error:
            if not is_rate_limit(error) or not held.give_back(throttled=True):
                raise
