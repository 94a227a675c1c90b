"""The task registry: name -> generator of one item from (random stream, size, index)."""

from __future__ import annotations

import random
from collections.abc import Callable

from rlm_cli.bench.items import Item, item_rng
from rlm_cli.bench.tasks.aggregate import generate_aggregate
from rlm_cli.bench.tasks.codeqa import generate_codeqa
from rlm_cli.bench.tasks.niah import generate_multi_niah, generate_niah
from rlm_cli.bench.tasks.pairs import generate_pairs
from rlm_cli.bench.tasks.verbatim import generate_verbatim

Generator = Callable[[random.Random, int, int], Item]

TASKS: dict[str, Generator] = {
    "niah": generate_niah,
    "multi-niah": generate_multi_niah,
    "aggregate": generate_aggregate,
    "pairs": generate_pairs,
    "codeqa": generate_codeqa,
    "verbatim": generate_verbatim,
}


def generate(task: str, size: int, seed: int, index: int) -> Item:
    """Item `index` of `task` at `size` tokens: the same bytes for the same arguments, always."""
    return TASKS[task](item_rng(task, size, seed, index), size, index)
