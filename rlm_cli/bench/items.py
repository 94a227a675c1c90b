"""Bench items and input sizes: what a generator produces and a method answers.

Leaf module of the bench package.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


@dataclass(frozen=True)
class Item:
    """One question about one generated input, with its answer key."""

    task: str
    size: int  # target input size in tokens
    index: int
    question: str
    answer: Any  # JSON-safe answer key; its shape depends on `scoring`
    scoring: str
    text: str = ""
    files: dict[str, str] = field(default_factory=dict)  # a repository instead of a text
    meta: dict[str, Any] = field(default_factory=dict)

    def as_text(self) -> str:
        """The whole input as one text (a repository as `=== path ===` sections)."""
        if not self.files:
            return self.text
        return "\n".join(f"=== {path} ===\n{body}" for path, body in self.files.items())


def parse_sizes(spec: str) -> list[int]:
    """`8k,32k,1m` -> token counts, in the order given."""
    sizes = []
    for part in spec.split(","):
        match = _SIZE.match(part.strip().lower())
        if not match:
            raise ValueError(f"bad size {part.strip()!r}: use a number with an optional k or m, e.g. 32k")
        sizes.append(int(float(match.group(1)) * _UNITS[match.group(2)]))
    return sizes


def size_label(tokens: int) -> str:
    """8000 -> `8k`, 1000000 -> `1m`, 1500 -> `1.5k`."""
    for unit, scale in (("m", 1_000_000), ("k", 1_000)):
        if tokens >= scale:
            return f"{tokens / scale:g}{unit}"
    return str(tokens)


def item_rng(task: str, size: int, seed: int, index: int) -> random.Random:
    """The random stream of one item: the same for the same task, size, seed and index."""
    return random.Random(f"rlm-bench/{task}/{size}/{seed}/{index}")
