"""Byte sizes as people write them: `50M`, `2G`, `512K` (binary units, as `ls -h` and `du -h`).

Leaf module: imports only the standard library.
"""

from __future__ import annotations

import re

UNITS = "KMGT"  # powers of 1024
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`50M` -> 52428800; a plain number is bytes. ValueError for anything else."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    number, unit = match.groups()
    power = UNITS.index(unit.upper()) + 1 if unit else 0
    return int(float(number) * 1024**power)


def format_size(size: int) -> str:
    """The shortest exact spelling: 52428800 -> `50M`, 1536 -> `1536`, 65536 -> `64K`."""
    for power in range(len(UNITS), 0, -1):
        if size and size % 1024**power == 0:
            return f"{size // 1024**power}{UNITS[power - 1]}"
    return str(size)
