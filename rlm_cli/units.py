"""Sizes of text and data: the token estimate, byte units (shown, and written like `50M`), and
cutting a text from the middle.

Standard library only and imports nothing from rlm_cli: the sandbox worker and the corpus use it.
"""

from __future__ import annotations

import re

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


SIZE_UNITS = "KMGT"  # powers of 1024, as `ls -h` and `du -h` write them
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`50M` -> 52428800; a plain number is bytes. ValueError for anything else."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number, unit = match.groups()
    power = SIZE_UNITS.index(unit.upper()) + 1 if unit else 0
    return int(float(number) * 1024**power)


def format_size(size: int) -> str:
    """The shortest exact spelling: 52428800 -> `50M`, 1536 -> `1536`, 65536 -> `64K`."""
    for power in range(len(SIZE_UNITS), 0, -1):
        if size and size % 1024**power == 0:
            return f"{size // 1024**power}{SIZE_UNITS[power - 1]}"
    return str(size)


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
