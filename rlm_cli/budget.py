"""Budgets and accounting for a run tree: tokens, cost, sub-calls and wall time, thread-safe.

A child RLM gets its own Budget, a slice of what its parent has left; every charge also counts
against the parents, so the whole tree stays within the user's limits. Before a model call is
sent, its worst case (prompt plus output cap, at the model's price) is reserved; the reservation
is settled to the real usage when the call returns, so calls in flight cannot overshoot a limit.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from rlm_cli.accounting import Ledger, charge, payers

UNPRICED_NOTE = "no price is known for this model, so --max-cost cannot be applied"
# A call whose output would have to be capped below this many tokens to fit is not sent.
MIN_OUTPUT_TOKENS = 1024


@dataclass(frozen=True)
class Quote:
    """The worst case of one call before it is sent: its prompt, its output cap, the price."""

    prompt_tokens: int
    max_output: int
    prompt_price: float | None = None  # USD per token; None where no price is known
    output_price: float | None = None

    @property
    def priced(self) -> bool:
        """Whether the cost can be known."""
        return self.prompt_price is not None and self.output_price is not None

    def cost(self, output: int) -> float:
        """USD for the prompt and `output` tokens (0 for an unpriced model)."""
        if not self.priced:
            return 0.0
        return self.prompt_tokens * (self.prompt_price or 0.0) + output * (self.output_price or 0.0)


class OverBudget(Exception):
    """A call was not sent: its worst case does not fit what is left of a limit."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


class Reservation:
    """What one call in flight holds of its budget chain until it settles."""

    def __init__(self, budget: Budget, tokens: int, cost: float, max_output: int, unpriced: bool) -> None:
        self.budget = budget
        self.tokens = tokens
        self.cost = cost
        self.max_output = max_output  # the output cap the call is sent with
        self.unpriced = unpriced  # True once per run tree: a cost limit cannot apply to this call
        self._open = True

    def settle(
        self, role: str, prompt_tokens: int, completion_tokens: int, cost: float | None, *,
        deployment: str | None = None, cached_input: int = 0, from_cache: bool = False,
    ) -> bool:
        """Give the reservation back and charge what the call really used (see Budget.charge)."""
        with self.budget._lock:
            self.release()
            return self.budget.charge(
                role, prompt_tokens, completion_tokens, cost,
                deployment=deployment, cached_input=cached_input, from_cache=from_cache,
            )

    def release(self) -> None:
        """Give the reservation back: the call was not answered, nothing known was spent."""
        with self.budget._lock:
            if not self._open:
                return
            self._open = False
            for budget in payers(self.budget):
                budget._reserved_tokens -= self.tokens
                budget._reserved_cost -= self.cost
                budget._in_flight -= 1
            self.budget._changed.notify_all()


@dataclass(frozen=True)
class Limits:
    """The limits in force; None means unlimited."""

    max_iterations: int = 30
    max_sub_calls: int | None = None
    max_cost: float | None = None
    max_tokens: int | None = None
    deadline: float | None = None  # time.monotonic() value

    @property
    def timeout_left(self) -> float | None:
        """Seconds until the deadline, if there is one."""
        return None if self.deadline is None else self.deadline - time.monotonic()


class Budget:
    """Counts what a run spends and says which limit, if any, it has reached."""

    def __init__(self, limits: Limits, *, depth: int = 1, parent: Budget | None = None) -> None:
        self.limits = limits
        self.depth = depth
        self.parent = parent
        # One lock for the whole run tree: a check and its count never race a sibling's.
        self._changed: threading.Condition = parent._changed if parent else threading.Condition(threading.RLock())
        self._lock = self._changed  # a Condition is its lock's context manager
        self._reserved_tokens = 0
        self._reserved_cost = 0.0
        self._in_flight = 0
        self.sub_calls = 0
        self.cost = 0.0  # USD of the calls whose price is known, for --max-cost
        self.cost_known = True
        self.ledger = Ledger()
        self.refused: str | None = None  # the limit that first turned a sub-call away

    @property
    def tokens(self) -> int:
        """Tokens spent in this run and below it."""
        return self.ledger.total.tokens

    def child(self) -> Budget:
        """A budget for a child RLM: half of what is left here, the same deadline."""
        with self._lock:
            limits = Limits(
                max_iterations=max(3, self.limits.max_iterations // 2),
                max_sub_calls=_half_count(self.limits.max_sub_calls, self.sub_calls),
                max_cost=None if self.limits.max_cost is None else max(0.0, self.limits.max_cost - self.cost - self._reserved_cost) / 2,
                max_tokens=_half_count(self.limits.max_tokens, self.tokens + self._reserved_tokens),
                deadline=self.limits.deadline,
            )
        return Budget(limits, depth=self.depth + 1, parent=self)

    def reserve_sub_call(self) -> str | None:
        """Count one sub-call, or return the name of the limit that forbids it.

        Checking and counting happen under the tree's lock, so parallel calls cannot overshoot
        --max-sub-calls.
        """
        with self._lock:
            reached = self.reached(include_sub_calls=True)
            if reached:
                self.refused = self.refused or reached
                return reached
            for budget in payers(self):
                budget.sub_calls += 1
        return None

    def reserve(self, quote: Quote) -> Reservation:
        """Hold a call's worst case against --max-tokens and --max-cost, or raise OverBudget.

        A call that fits what is left (spent plus held by calls in flight) is sent with its full
        output cap. One that does not waits while other calls are in flight (their settling frees
        room); with none in flight it is sent with a smaller cap when at least MIN_OUTPUT_TOKENS
        still fit, and refused otherwise. So the run never spends past a limit by more than the
        error of one prompt's size estimate.
        """
        floor = min(MIN_OUTPUT_TOKENS, quote.max_output)
        with self._lock:
            unpriced = self._note_unpriced(quote)
            while True:
                limit, room = self._room(quote)
                if room >= quote.max_output:
                    return self._hold(quote, quote.max_output, unpriced)
                if payers(self)[-1]._in_flight == 0:
                    if room >= floor:
                        return self._hold(quote, room, unpriced)
                    self.refused = self.refused or limit
                    raise OverBudget(limit)
                left = self.limits.timeout_left
                if left is not None and left <= 0:
                    raise OverBudget("timeout")
                self._changed.wait(left)

    def _room(self, quote: Quote) -> tuple[str, int]:
        """The most output tokens that fit every limit of the chain, and the limit that binds."""
        limit, room = "", quote.max_output
        for budget in payers(self):
            limits = budget.limits
            if limits.max_tokens is not None:
                left = limits.max_tokens - budget.tokens - budget._reserved_tokens - quote.prompt_tokens
                if left < room:
                    limit, room = "max_tokens", left
            if limits.max_cost is not None and budget.cost_known and quote.priced:
                money = limits.max_cost - budget.cost - budget._reserved_cost - quote.cost(0)
                price = quote.output_price or 0.0
                fits = int(money / price) if price > 0 else (room if money >= 0 else -1)
                if fits < room:
                    limit, room = "max_cost", fits
        return limit, room

    def _hold(self, quote: Quote, output: int, unpriced: bool) -> Reservation:
        tokens, cost = quote.prompt_tokens + output, quote.cost(output)
        for budget in payers(self):
            budget._reserved_tokens += tokens
            budget._reserved_cost += cost
            budget._in_flight += 1
        return Reservation(self, tokens, cost, output, unpriced)

    def _note_unpriced(self, quote: Quote) -> bool:
        """An unpriced call makes a cost limit inapplicable: True the first time (to say so once)."""
        chain = payers(self)
        if quote.priced or not all(b.cost_known for b in chain) or all(b.limits.max_cost is None for b in chain):
            return False
        for budget in chain:
            budget.cost_known = False
        return True

    def charge(
        self, role: str, prompt_tokens: int, completion_tokens: int, cost: float | None, *,
        depth: int | None = None, deployment: str | None = None, cached_input: int = 0, from_cache: bool = False,
    ) -> bool:
        """Record one model call (role "root": this run's own model, or "sub"; `deployment`: which
        of the model's deployments answered, when it has several); one answered from the response
        cache (`from_cache`) is counted as saved, and spends nothing.

        True the first time an unpriced call makes a cost limit inapplicable (to say so once).
        """
        depth = self.depth if depth is None else depth
        chain = payers(self)
        with self._lock:
            had_price = all(budget.cost_known for budget in chain)
            charge((budget.ledger for budget in chain), role, prompt_tokens, completion_tokens, cost, depth=depth,
                   deployment=deployment, cached_input=cached_input, from_cache=from_cache)
            if from_cache:
                return False
            for budget in chain:
                budget._spend(cost)
            self._changed.notify_all()
        limited = any(budget.limits.max_cost is not None for budget in chain)
        return cost is None and had_price and limited

    def reached(self, *, include_sub_calls: bool = False) -> str | None:
        """The first limit reached (max_cost, max_tokens, timeout, max_sub_calls), if any."""
        for budget in payers(self):
            limits = budget.limits
            with budget._lock:
                if limits.deadline is not None and time.monotonic() >= limits.deadline:
                    return "timeout"
                if limits.max_cost is not None and budget.cost_known and budget.cost >= limits.max_cost:
                    return "max_cost"
                if limits.max_tokens is not None and budget.tokens >= limits.max_tokens:
                    return "max_tokens"
                if include_sub_calls and limits.max_sub_calls is not None and budget.sub_calls >= limits.max_sub_calls:
                    return "max_sub_calls"
        return None

    def remaining_text(self) -> str:
        """What is left, for the per-turn status line."""
        parts = []
        limits = self.limits
        with self._lock:
            if limits.max_sub_calls is not None:
                parts.append(f"{max(0, limits.max_sub_calls - self.sub_calls)} sub-calls left")
            if limits.max_cost is not None and self.cost_known:
                parts.append(f"${max(0.0, limits.max_cost - self.cost):.4f} left")
            if limits.max_tokens is not None:
                parts.append(f"{max(0, limits.max_tokens - self.tokens):,} tokens left")
        left = limits.timeout_left
        if left is not None:
            parts.append(f"{max(0.0, left):.0f} s left")
        return ", ".join(parts)

    def snapshot(self) -> dict[str, Any]:
        """Usage for the result: root, sub, total, and per depth."""
        with self._lock:
            return self.ledger.as_dict()

    def _spend(self, cost: float | None) -> None:
        """Count a call's cost against --max-cost; an unknown one makes the limit inapplicable."""
        if cost is None:
            self.cost_known = False
        else:
            self.cost += cost


def _half_count(limit: int | None, spent: int) -> int | None:
    """Half of what is left of a count limit, at least 1."""
    return None if limit is None else max(1, (int(limit) - spent) // 2)
