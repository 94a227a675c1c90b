"""Per-call budgets: a calling agent may make a run stricter than the server's settings, never looser."""

from __future__ import annotations

from collections.abc import Mapping

from rlm_cli.settings import Settings

BUDGETS = ("max_iterations", "max_cost", "max_sub_calls", "max_tokens", "timeout")


def tightened(settings: Settings, asked: Mapping[str, float | None]) -> dict[str, float]:
    """The budgets asked for, each lowered to the server's own limit where it has one."""
    limits: dict[str, float] = {}
    for name, value in asked.items():
        if name not in BUDGETS:
            raise ValueError(f"{name} is not a budget")
        if value is not None:
            configured = getattr(settings, name)
            limits[name] = value if configured is None else min(value, configured)
    return limits


def budget_flags(limits: Mapping[str, float]) -> list[str]:
    """`rlm ask` flags for the budgets, e.g. ["--max-cost", "0.5"]."""
    return [part for name, value in limits.items() for part in (f"--{name.replace('_', '-')}", str(value))]
