"""OOLONG-style aggregation: support tickets whose category must be judged from the text.

The question asks for a count, the most common category, or the whole distribution.
"""

from __future__ import annotations

import random
from collections import Counter

from rlm_cli.bench.items import Item
from rlm_cli.bench.text import FIRST_NAMES, fill
from rlm_cli.units import CHARS_PER_TOKEN

# The phrasings never name the category: telling them apart is the per-record judgement.
PHRASINGS = {
    "billing": (
        "I was charged twice for my {plan} plan this month",
        "the invoice for {month} shows the wrong amount",
        "please refund the last payment, I cancelled in {month}",
        "why was my card debited again after the trial ended",
    ),
    "bug": (
        "the export button crashes the app when I pick {fmt}",
        "since the update the dashboard shows a blank page",
        "saving a draft fails with error {code}",
        "search returns nothing even for exact titles",
    ),
    "feature request": (
        "it would be great to schedule reports every {weekday}",
        "could you add a dark theme to the editor",
        "please let us tag projects with our own colours",
        "we would love an option to export to {fmt}",
    ),
    "account access": (
        "I cannot log in since I changed my phone",
        "the password reset email never arrives",
        "my account was locked after three attempts",
        "two-factor codes are rejected every {weekday}",
    ),
    "shipping": (
        "my parcel has been stuck in {city} for a week",
        "tracking says delivered but nothing came",
        "the box arrived with a crushed corner",
        "can I change the delivery address for order {code}",
    ),
}
CATEGORIES = tuple(PHRASINGS)
QUESTIONS = ("count", "most_common", "distribution")
_RECORD_CHARS = 87  # a rendered ticket's typical length


def generate_aggregate(rng: random.Random, size: int, index: int) -> Item:
    """Tickets with hidden categories; the question kind rotates with the index."""
    count = max(20, size * CHARS_PER_TOKEN // _RECORD_CHARS)
    weights = [rng.uniform(0.5, 2.0) for _ in CATEGORIES]
    labels = rng.choices(CATEGORIES, weights, k=count)
    _break_top_tie(labels)
    ids = rng.sample(range(100_000, 1_000_000), count)
    lines = [
        f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
        f" | ticket T{ticket} | {rng.choice(FIRST_NAMES)}: {fill(rng, rng.choice(PHRASINGS[label]))}"
        for ticket, label in zip(ids, labels, strict=True)
    ]
    counts = Counter(labels)
    kind = QUESTIONS[index % len(QUESTIONS)]
    answer: int | str | dict[str, int]
    names = ", ".join(CATEGORIES[:-1]) + f" or {CATEGORIES[-1]}"
    judge = f"Each ticket is about exactly one of: {names}; the category is not written down, judge it from the text."
    if kind == "count":
        target = rng.choice(CATEGORIES)
        question, answer, scoring = f"How many tickets are about {target}? {judge} Answer with one integer.", counts[target], "number"
    elif kind == "most_common":
        question = f"Which category do the most tickets belong to? {judge} Answer with the category only."
        answer, scoring = counts.most_common(1)[0][0], "label"
    else:
        question = (
            f"How many tickets are there in each category? {judge} Answer with a JSON object mapping "
            "each category to its count."
        )
        answer, scoring = {label: counts[label] for label in CATEGORIES}, "distribution"
    meta = {"question": kind, "records": count, "labels": labels}
    return Item("aggregate", size, index, question, answer, scoring, text="\n".join(lines), meta=meta)


def _break_top_tie(labels: list[str]) -> None:
    """Relabel one record so the most common category is unique (the label answer must be)."""
    ranked = Counter(labels).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        labels[labels.index(ranked[1][0])] = ranked[0][0]
