"""Small text formatters shared by every renderer: tokens, cost, durations, sizes, previews.

Plain strings only; imports `accounting` and `units` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlm_cli.accounting import Usage
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


def usage_part(part: Mapping[str, Any]) -> str:
    """One usage bucket: `12.3k tok (10.1k in, 2.2k out) $0.0123`."""
    used = Usage.of(part)
    return (
        f"{tokens(used.tokens)} tok ({tokens(used.prompt_tokens)} in, {tokens(used.completion_tokens)} out) "
        f"{cost(used.cost_usd)}"
    )


def usage_line(usage: Mapping[str, Mapping[str, Any]]) -> str:
    """Root and sub usage side by side, then the total cost."""
    total = usage.get("total", {})
    return (
        f"root {usage_part(usage.get('root', {}))} · sub {usage_part(usage.get('sub', {}))} · "
        f"total {cost(total.get('cost_usd'))}"
    )
