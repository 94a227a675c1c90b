"""Verbatim recall: a log of JSON order records; reproduce one long record exactly.

Scored by exact match, with the edit distance kept alongside.
"""

from __future__ import annotations

import json
import random
from typing import Any

from rlm_cli.bench.items import Item
from rlm_cli.bench.text import CITIES, FIRST_NAMES, WORDS, sentence
from rlm_cli.units import CHARS_PER_TOKEN

_STATUSES = ("placed", "paid", "packed", "shipped", "delivered", "returned")
_PRODUCTS = ("lamp", "kettle", "notebook", "backpack", "headphones", "mug", "blanket", "charger")
_TARGET_ITEMS = (18, 26)  # line items of the record to reproduce: long, and structured
_OTHER_ITEMS = (1, 6)


def generate_verbatim(rng: random.Random, size: int, index: int) -> Item:
    """JSON lines; the answer key is the one long record asked for, as it appears."""
    budget = size * CHARS_PER_TOKEN
    ids = iter(rng.sample(range(100_000, 1_000_000), max(64, budget // 150)))
    order_id = next(ids)
    target = json.dumps(_order(rng, order_id, rng.randint(*_TARGET_ITEMS)))
    lines: list[str] = []
    total = len(target) + 1  # the long record counts toward the size too
    while total < budget or len(lines) < 3:
        line = json.dumps(_order(rng, next(ids), rng.randint(*_OTHER_ITEMS)))
        lines.append(line)
        total += len(line) + 1
    at = rng.randint(0, len(lines))
    lines.insert(at, target)
    question = (
        f"Reproduce the JSON record of order ORD-{order_id} exactly as it appears in the input, "
        "character for character, on one line. Answer with the record only."
    )
    meta = {"order_id": f"ORD-{order_id}", "line": at + 1, "chars": len(target)}
    return Item("verbatim", size, index, question, target, "verbatim", text="\n".join(lines), meta=meta)


def _order(rng: random.Random, order_id: int, items: int) -> dict[str, Any]:
    name = rng.choice(FIRST_NAMES)
    return {
        "order_id": f"ORD-{order_id}",
        "customer": {"name": name, "email": f"{name.lower()}.{rng.choice(WORDS)}@example.org", "city": rng.choice(CITIES)},
        "placed_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        "status": rng.choice(_STATUSES),
        "items": [
            {
                "sku": f"{rng.choice(WORDS)[:3].upper()}-{rng.randint(1000, 9999)}",
                "name": f"{rng.choice(WORDS)} {rng.choice(_PRODUCTS)}",
                "qty": rng.randint(1, 5),
                "unit_price": round(rng.uniform(2, 250), 2),
            }
            for _ in range(items)
        ],
        "note": sentence(rng),
    }
