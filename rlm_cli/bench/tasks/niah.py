"""Needles in a haystack (RULER S-NIAH and multi-key style): word, number and UUID needles in prose.

The answer key is the needles' values; `meta` records where each needle sits in the text.
"""

from __future__ import annotations

import random
import uuid

from rlm_cli.bench.items import Item
from rlm_cli.bench.text import code_name, prose
from rlm_cli.units import CHARS_PER_TOKEN

KINDS = ("word", "number", "uuid")
_VALUE_WORDS = (
    "marigold", "obsidian", "pendulum", "lighthouse", "caravan", "monsoon", "topaz", "harpsichord",
    "chrysalis", "labyrinth", "sextant", "porcelain", "avalanche", "tapestry", "gondola", "nebula",
)
MULTI_NEEDLES = 4


def needle_kind(index: int) -> str:
    """Kinds rotate with the item index, so every n covers them evenly."""
    return KINDS[index % len(KINDS)]


def needle_sentence(kind: str, key: str, value: str) -> str:
    """The sentence that hides one needle."""
    return f"One of the special magic {kind}s for {key} is: {value}."


def generate_niah(rng: random.Random, size: int, index: int) -> Item:
    """One needle; the question asks for its value."""
    kind = needle_kind(index)
    text, needles = _haystack(rng, size, kind, 1)
    key, value = next(iter(needles.items()))
    question = (
        f"What is the special magic {kind} for {key} mentioned in the text? "
        f"Answer with the {kind} only."
    )
    return Item("niah", size, index, question, value, "needle", text=text, meta=_meta(text, kind, needles))


def generate_multi_niah(rng: random.Random, size: int, index: int) -> Item:
    """Several needles under different keys; the question asks for every value."""
    kind = needle_kind(index)
    text, needles = _haystack(rng, size, kind, MULTI_NEEDLES)
    keys = list(needles)
    question = (
        f"What are the special magic {kind}s for {', '.join(keys[:-1])} and {keys[-1]} mentioned in "
        f"the text? Give every one of them, each key with its {kind}."
    )
    return Item(
        "multi-niah", size, index, question, list(needles.values()), "needles", text=text,
        meta=_meta(text, kind, needles),
    )


def _haystack(rng: random.Random, size: int, kind: str, count: int) -> tuple[str, dict[str, str]]:
    taken: set[str] = set()
    needles = dict(zip([code_name(rng, taken) for _ in range(count)], _values(rng, kind, count), strict=True))
    paragraphs = prose(rng, size * CHARS_PER_TOKEN)
    # Distinct paragraphs, so no needle hides another; sentences go in at a random sentence break.
    spots = rng.sample(range(len(paragraphs)), min(count, len(paragraphs)))
    for spot, (key, value) in zip(spots, needles.items(), strict=False):
        sentences = paragraphs[spot].rstrip(".").split(". ")
        sentences.insert(rng.randint(0, len(sentences)), needle_sentence(kind, key, value).rstrip("."))
        paragraphs[spot] = ". ".join(sentences) + "."
    return "\n\n".join(paragraphs), needles


def _values(rng: random.Random, kind: str, count: int) -> list[str]:
    """Distinct values, so every needle of an item is told apart by its value too."""
    if kind == "word":
        return rng.sample(_VALUE_WORDS, count)
    if kind == "number":
        return [str(n) for n in rng.sample(range(1_000_000, 10_000_000), count)]
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def _meta(text: str, kind: str, needles: dict[str, str]) -> dict[str, object]:
    depths = {
        key: round(text.index(needle_sentence(kind, key, value).rstrip(".")) / len(text), 4)
        for key, value in needles.items()
    }
    return {"kind": kind, "needles": needles, "depth": depths}
