"""OOLONG-Pairs style: forum posts by users; find every pair of users meeting a joint condition.

The condition needs a per-post judgement (the topic is never named) and a comparison across posts.
"""

from __future__ import annotations

import random
from itertools import combinations

from rlm_cli.bench.items import Item
from rlm_cli.bench.text import CITIES, fill
from rlm_cli.units import CHARS_PER_TOKEN

# Topic -> how the question names it, and posts that never use that name.
TOPICS = {
    "cooking": ("cooking or food", (
        "finally nailed a {dish} that my family asked for twice",
        "is it worth buying a cast-iron pan for a small kitchen",
        "my sourdough starter smells of nail varnish, what went wrong",
    )),
    "gardening": ("gardening", (
        "slugs ate every one of my {plant} overnight",
        "when should I move the {plant} out of the greenhouse",
        "the compost heap is steaming, is that normal",
    )),
    "cycling": ("cycling", (
        "rode {distance} km on Sunday and my knees are fine",
        "which tyre pressure do you run on gravel",
        "my chain keeps slipping on the smallest cog",
    )),
    "music": ("music", (
        "rehearsal with {band} ran late again",
        "looking for a second-hand cello under 800 euros",
        "how do you keep time when the drummer rushes",
    )),
    "pets": ("pets", (
        "our new {pet} will not sleep through the night",
        "what do you feed a {pet} that refuses dry food",
        "the vet says the {pet} needs to lose weight",
    )),
}
_RECORD_CHARS = 85
_CITIES_PER_ITEM = 3  # the target topic's users live in a few cities, so same-city pairs exist


def generate_pairs(rng: random.Random, size: int, index: int) -> Item:
    """Posts; the answer key is every pair of target-topic users who share a city."""
    count = max(20, size * CHARS_PER_TOKEN // _RECORD_CHARS)
    topic = list(TOPICS)[index % len(TOPICS)]
    others = [name for name in TOPICS if name != topic]
    target_users = rng.randint(6, 9)
    target_cities = rng.sample(CITIES, _CITIES_PER_ITEM)
    users = [f"U{n}" for n in rng.sample(range(100_000, 1_000_000), count)]
    rows = []
    for position, user in enumerate(users):
        own = position < target_users
        rows.append((user, rng.choice(target_cities) if own else rng.choice(CITIES), topic if own else rng.choice(others)))
    rng.shuffle(rows)
    lines = [
        f"{user} ({city}, member since {rng.randint(2012, 2024)}): {fill(rng, rng.choice(TOPICS[label][1]))}"
        for user, city, label in rows
    ]
    writers = [(user, city) for user, city, label in rows if label == topic]
    gold = sorted(sorted((a, b)) for (a, city_a), (b, city_b) in combinations(writers, 2) if city_a == city_b)
    question = (
        f"Find every pair of users who both posted about {TOPICS[topic][0]} and who live in the same "
        "city. Each user has exactly one post; the topic is not written down, judge it from the text. "
        "List each pair as (Uxxxxxx, Uyyyyyy), one pair per line; answer NONE if there is none."
    )
    meta = {"topic": topic, "writers": [list(writer) for writer in writers], "records": count}
    return Item("pairs", size, index, question, gold, "pairs", text="\n".join(lines), meta=meta)
