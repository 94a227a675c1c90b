"""Usage and cost of model calls, and who pays for each: the one place they are counted.

The budget, the live progress state, the run history and the bench all read it. Leaf module
(standard library only); not thread-safe by itself: the owner holds a lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

ROLES = ("root", "sub")  # a run's own model, and everything its sub-calls and child runs spend
RLM_KIND = "rlm"  # the SubcallStarted kind of an rlm_query that started a child run


@dataclass
class Usage:
    """Tokens and cost of some model calls; the cost stays unknown once one call's was."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    cached_input_tokens: int = 0  # of the prompt tokens, those read from the provider's prompt cache

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, prompt: int, completion: int, cost: float | None, cached_input: int = 0) -> None:
        """Count one model call (`cost` None: its price is not known)."""
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost_usd = total_cost([self.cost_usd, cost])
        self.cached_input_tokens += cached_input

    def as_dict(self) -> dict[str, Any]:
        """The bucket form of RunResult.usage: prompt_tokens, completion_tokens, cost_usd,
        cached_input_tokens."""
        return {
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "cost_usd": self.cost_usd,
            "cached_input_tokens": self.cached_input_tokens,
        }

    @classmethod
    def of(cls, bucket: Mapping[str, Any] | None) -> Usage:
        """A bucket read back from its dict form (a trace, `--json`); missing counts are 0."""
        bucket = bucket or {}
        return cls(
            int(bucket.get("prompt_tokens", 0)), int(bucket.get("completion_tokens", 0)), bucket.get("cost_usd"),
            int(bucket.get("cached_input_tokens", 0)),
        )


@dataclass
class Calls(Usage):
    """Usage with a count of the calls: what one deployment served, or what the response cache
    saved."""

    calls: int = 0

    def add(self, prompt: int, completion: int, cost: float | None, cached_input: int = 0) -> None:
        """Count one model call."""
        super().add(prompt, completion, cost, cached_input)
        self.calls += 1

    def as_dict(self) -> dict[str, Any]:
        """calls, prompt_tokens, completion_tokens, cost_usd, cached_input_tokens."""
        return {"calls": self.calls, **super().as_dict()}


@dataclass
class Ledger:
    """What one run tree spent as seen from one run: its own model (root), the rest (sub), by
    depth, and by the deployment that answered (when a model has several, `--router`)."""

    root: Usage = field(default_factory=Usage)
    sub: Usage = field(default_factory=Usage)
    total: Usage = field(default_factory=Usage)
    by_depth: dict[int, dict[str, Usage]] = field(default_factory=dict)
    by_deployment: dict[str, Calls] = field(default_factory=dict)
    cached: Calls = field(default_factory=Calls)

    def add(
        self, role: str, prompt: int, completion: int, cost: float | None, *, depth: int | None = None,
        deployment: str | None = None, cached_input: int = 0, from_cache: bool = False,
    ) -> None:
        """Count one call under `role` ("root" or "sub"), the depth it was made at and the
        deployment that answered it.

        A call answered from the response cache (`from_cache`) spent nothing: its usage is what
        it saved, counted under `cached` only.
        """
        if from_cache:
            self.cached.add(prompt, completion, cost)
            return
        buckets = [self.root if role == "root" else self.sub, self.total]
        if depth is not None:
            buckets.append(self.by_depth.setdefault(depth, {}).setdefault(role, Usage()))
        if deployment is not None:
            buckets.append(self.by_deployment.setdefault(deployment, Calls()))
        for bucket in buckets:
            bucket.add(prompt, completion, cost, cached_input)

    def as_dict(self) -> dict[str, Any]:
        """RunResult.usage: root, sub, total, cached (what the response cache saved), by_depth
        (depths as strings, JSON keys) and by_deployment (deployment name -> calls and usage; empty
        without deployments)."""
        usage: dict[str, Any] = {"root": self.root.as_dict(), "sub": self.sub.as_dict(), "total": self.total.as_dict()}
        usage["cached"] = self.cached.as_dict()
        usage["by_depth"] = {str(d): {r: u.as_dict() for r, u in roles.items()} for d, roles in self.by_depth.items()}
        usage["by_deployment"] = {name: calls.as_dict() for name, calls in sorted(self.by_deployment.items())}
        return usage


def total_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of some costs in USD; None (unknown) once one of them is."""
    total = 0.0
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total


def empty_usage() -> dict[str, dict[str, Any]]:
    """RunResult.usage of a run that made no call: zeroed root, sub, total and cached."""
    return {**{part: Usage().as_dict() for part in (*ROLES, "total")}, "cached": Calls().as_dict()}


class Linked(Protocol):
    """A run (or its budget) that knows the run that started it."""

    @property
    def parent(self) -> Any: ...


L = TypeVar("L", bound=Linked)


def payers(run: L) -> list[L]:
    """Who pays for a call made in `run`: the run itself, then each ancestor, nearest first."""
    chain: list[L] = []
    current: L | None = run
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain


def charge(
    ledgers: Iterable[Ledger], role: str, prompt: int, completion: int, cost: float | None, *,
    depth: int | None = None, deployment: str | None = None, cached_input: int = 0, from_cache: bool = False,
) -> None:
    """Charge one call to the payers' ledgers (see `payers`): the run that made it under `role`,
    every ancestor under "sub" (seen from above, all a child spends is sub-call spending)."""
    for level, ledger in enumerate(ledgers):
        ledger.add(role if level == 0 else "sub", prompt, completion, cost, depth=depth, deployment=deployment,
                   cached_input=cached_input, from_cache=from_cache)


def charged_when_finished(kind: str) -> bool:
    """Whether a finished sub-call's usage is charged from its SubcallFinished event.

    Not an rlm_query's: its child run's own calls were charged as they were made, and the
    finished event only reports their sum, so counting it would charge them twice.
    """
    return kind != RLM_KIND
