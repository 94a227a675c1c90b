"""Sizes of text and data: the token estimate, byte units, and cutting a text from the middle.

Standard library only and imports nothing from rlm_cli: the sandbox worker and the corpus use it.
"""

from __future__ import annotations

# Characters per token where no tokenizer is at hand. Conservative (most text has more), so a
# prompt is refused before a provider would reject it, a call's worst case is not underrated,
# and a generated input of N tokens stays within N tokens.
CHARS_PER_TOKEN = 3


def estimate_tokens(chars: int) -> int:
    """Tokens for `chars` characters, estimated on the high side."""
    return -(-chars // CHARS_PER_TOKEN)


def nbytes(size: float) -> str:
    """A byte count in binary units: 950 B, 1.2 KiB, 3.4 MiB, 5.0 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def cut_marker(total: int, cut: int) -> str:
    """The line that stands for the middle of a text that was too long."""
    return f"\n... [{total:,} characters in all; {cut:,} cut from the middle] ...\n"


def clip(text: str, limit: int, *, total: int | None = None) -> str:
    """`text` whole, or its head and tail (`limit` characters in all) around a cut marker.

    `total` is the length of the original when `text` was already capped while it was captured.
    """
    total = len(text) if total is None else total
    if len(text) <= limit:
        return text
    keep = max(limit, 0)
    head = keep // 2
    tail = keep - head
    return text[:head] + cut_marker(total, total - keep) + (text[-tail:] if tail else "")
