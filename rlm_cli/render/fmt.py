"""Small text formatters shared by every renderer: tokens, cost, durations, sizes, previews.

Plain strings only; imports `accounting` and `units` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlm_cli.accounting import ROLES, Usage
from rlm_cli.units import nbytes as nbytes  # byte sizes: one unit (binary) everywhere


def tokens(count: int) -> str:
    """950, 12.3k, 4.5M."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def cost(usd: float | None) -> str:
    """$0.0123, or "cost unknown" for an unpriced model."""
    if usd is None:
        return "cost unknown"
    if usd >= 1:
        return f"${usd:.2f}"
    return f"${usd:.4f}"


def duration(seconds: float) -> str:
    """0.8s, 12.3s, 2m05s, 1h02m."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def retry(reason: str, model: str, attempt: int, max_retries: int, delay_s: float) -> str:
    """`429 from openai/gpt-5, retry 2/6 in 3.1 s`."""
    return f"{reason} from {model}, retry {attempt}/{max_retries} in {delay_s:.1f} s"


def count(n: int, noun: str) -> str:
    """`1 turn`, `3 turns`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def chars(count: int) -> str:
    """A text size: 950 chars, 12.3k chars."""
    return f"{tokens(count)} chars"


def one_line(text: str, width: int = 80) -> str:
    """Whitespace collapsed to single spaces and cut to `width` with an ellipsis."""
    flat = " ".join(text[: width * 4].split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def head_tail(lines: list[str], head: int, tail: int) -> tuple[list[str], list[str], int]:
    """The first `head` and last `tail` lines and how many lie between them."""
    if len(lines) <= head + tail:
        return lines, [], 0
    return lines[:head], lines[len(lines) - tail :], len(lines) - head - tail


def priced(usd: float | None) -> str:
    """` · $0.0123` after a reply, or nothing when its price is unknown (the total says so, once)."""
    return "" if usd is None else f" · {cost(usd)}"


def usage_part(part: Mapping[str, Any]) -> str:
    """One usage bucket: `12.3k tok (10.1k in, 2.2k out) $0.0123` (no price when unknown)."""
    used = Usage.of(part)
    spent = f"{tokens(used.tokens)} tok ({tokens(used.prompt_tokens)} in, {tokens(used.completion_tokens)} out)"
    return spent + ("" if used.cost_usd is None else f" {cost(used.cost_usd)}")


def usage_line(usage: Mapping[str, Mapping[str, Any]]) -> str:
    """Root usage, sub usage when there was any, then the total cost, or "cost unknown" once."""
    sub = usage.get("sub", {})
    parts = [f"root {usage_part(usage.get('root', {}))}"] + ([f"sub {usage_part(sub)}"] if Usage.of(sub).tokens else [])
    return " · ".join([*parts, total_cost(usage), *filter(None, [cache_savings(usage)])])


def cache_savings(usage: Mapping[str, Mapping[str, Any]]) -> str | None:
    """`3 cached calls saved 1.2k tok $0.0040`, or None when no call was answered from the cache."""
    cached = usage.get("cached") or {}
    calls = int(cached.get("calls", 0))
    if not calls:
        return None
    saved = Usage.of(cached)
    money = f" {cost(saved.cost_usd)}" if saved.cost_usd else ""
    return f"{count(calls, 'cached call')} saved {tokens(saved.tokens)} tok{money}"


def deployments(usage: Mapping[str, Any]) -> str:
    """`calls by deployment: eu 102, us 98` when a model had several deployments (--router), else ""."""
    served = usage.get("by_deployment") or {}
    return "calls by deployment: " + ", ".join(f"{name} {part.get('calls', 0)}" for name, part in served.items()) if served else ""


def total_cost(usage: Mapping[str, Mapping[str, Any]]) -> str:
    """`total $0.0468`, or `cost unknown` when a model that was used has no price."""
    total = usage.get("total", {}).get("cost_usd")
    unpriced = any((part := Usage.of(usage.get(name))).tokens and part.cost_usd is None for name in ROLES)
    return "cost unknown" if total is None or unpriced else f"total {cost(total)}"


def wrap_at_dots(line: str, width: int, indent: str = "     ") -> str:
    """A `a · b · c` line broken between its parts (never inside one) to fit `width` columns."""
    pieces = line.split(" · ")
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 3 + len(piece) <= width:
            lines[-1] += f" · {piece}"
        else:
            lines.append(f"{indent}{piece}")
    return "\n".join(lines)
