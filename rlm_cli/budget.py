"""Budgets and accounting for a run tree: tokens, cost, sub-calls and wall time, thread-safe.

A child RLM gets its own Budget, a slice of what its parent has left; every charge also counts
against the parents, so the whole tree stays within the user's limits.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from rlm_cli.result import empty_usage, zero_counts

UNPRICED_NOTE = "no price is known for this model, so --max-cost cannot be applied"


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
        self._lock = threading.RLock()  # reserve_sub_call holds the chain's locks while it checks
        self.sub_calls = 0
        self.tokens = 0
        self.cost = 0.0
        self.cost_known = True
        self.usage = empty_usage()
        self.by_depth: dict[str, dict[str, dict[str, Any]]] = {}
        self.refused: str | None = None  # the limit that first turned a sub-call away

    def child(self) -> Budget:
        """A budget for a child RLM: half of what is left here, the same deadline."""
        with self._lock:
            limits = Limits(
                max_iterations=max(3, self.limits.max_iterations // 2),
                max_sub_calls=_half_count(self.limits.max_sub_calls, self.sub_calls),
                max_cost=None if self.limits.max_cost is None else max(0.0, self.limits.max_cost - self.cost) / 2,
                max_tokens=_half_count(self.limits.max_tokens, self.tokens),
                deadline=self.limits.deadline,
            )
        return Budget(limits, depth=self.depth + 1, parent=self)

    def reserve_sub_call(self) -> str | None:
        """Count one sub-call, or return the name of the limit that forbids it.

        Checking and counting happen under every lock of the chain (taken root first, the one
        order used everywhere), so parallel calls cannot overshoot --max-sub-calls.
        """
        chain = self._chain()
        with ExitStack() as held:
            for budget in reversed(chain):
                held.enter_context(budget._lock)
            reached = self.reached(include_sub_calls=True)
            if reached:
                self.refused = self.refused or reached
                return reached
            for budget in chain:
                budget.sub_calls += 1
        return None

    def charge(self, role: str, prompt_tokens: int, completion_tokens: int, cost: float | None, *, depth: int | None = None) -> bool:
        """Record one model call (role "root": this run's own model, or "sub").

        True the first time an unpriced call makes a cost limit inapplicable (to say so once).
        """
        depth = self.depth if depth is None else depth
        chain = self._chain()
        had_price = all(budget.cost_known for budget in chain)
        for level, budget in enumerate(chain):
            # Seen from a parent, everything a child spends is sub-call spending.
            seen_as = role if level == 0 else "sub"
            budget._add(seen_as, depth, prompt_tokens, completion_tokens, cost)
        limited = any(budget.limits.max_cost is not None for budget in chain)
        return cost is None and had_price and limited

    def reached(self, *, include_sub_calls: bool = False) -> str | None:
        """The first limit reached (max_cost, max_tokens, timeout, max_sub_calls), if any."""
        for budget in self._chain():
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
            usage = {part: dict(values) for part, values in self.usage.items()}
            usage["by_depth"] = {d: {r: dict(v) for r, v in roles.items()} for d, roles in self.by_depth.items()}
        return usage

    def _add(self, role: str, depth: int, prompt: int, completion: int, cost: float | None) -> None:
        with self._lock:
            self.tokens += prompt + completion
            if cost is None:
                self.cost_known = False
            else:
                self.cost += cost
            roles = self.by_depth.setdefault(str(depth), {})
            buckets = [self.usage[role], self.usage["total"], roles.setdefault(role, zero_counts())]
            for bucket in buckets:
                bucket["prompt_tokens"] += prompt
                bucket["completion_tokens"] += completion
                bucket["cost_usd"] = None if cost is None or bucket["cost_usd"] is None else bucket["cost_usd"] + cost

    def _chain(self) -> list[Budget]:
        chain: list[Budget] = []
        budget: Budget | None = self
        while budget is not None:
            chain.append(budget)
            budget = budget.parent
        return chain


def _half_count(limit: int | None, spent: int) -> int | None:
    """Half of what is left of a count limit, at least 1."""
    return None if limit is None else max(1, (int(limit) - spent) // 2)
