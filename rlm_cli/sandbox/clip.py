"""Cutting long text from the middle while stating its true length. Standard library only.

Shared by the worker (capture while a cell runs) and the host (what the root model is shown).
"""

from __future__ import annotations


def cut_marker(total: int, cut: int) -> str:
    """The line that replaces the middle of a text that was too long."""
    return f"\n... [{total:,} characters in all; {cut:,} cut from the middle] ...\n"


def clip_output(text: str, limit: int, *, total: int | None = None) -> str:
    """Keep the head and tail of `text` within `limit` characters, stating the true length.

    `total` is the length of the original when `text` was already capped while it was captured.
    """
    total = len(text) if total is None else total
    if len(text) <= limit:
        return text
    keep = max(limit, 0)
    head = keep // 2
    tail = keep - head
    return text[:head] + cut_marker(total, total - keep) + (text[-tail:] if tail else "")
