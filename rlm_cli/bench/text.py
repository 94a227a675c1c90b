"""Realistic filler prose and name pools for the generators; deterministic given a Random.

Leaf module of the bench package.
"""

from __future__ import annotations

import random

_SUBJECTS = (
    "The committee", "Most startups", "A good essay", "The old mill", "Our neighbours",
    "The city council", "Every engineer", "The river", "A patient teacher", "The market",
    "Small companies", "The museum", "Early investors", "The library", "A careful reader",
    "The harbour", "Most founders", "The village school", "Experienced gardeners", "The orchestra",
)
_VERBS = (
    "often underestimated", "quietly rebuilt", "spent the winter studying", "argued about",
    "rarely mentioned", "slowly learned to trust", "kept returning to", "wrote at length about",
    "paid close attention to", "never fully understood", "began to question", "carefully measured",
    "made room for", "found a new use for", "seemed surprised by", "published a report on",
)
_OBJECTS = (
    "the cost of waiting", "the northern road", "a forgotten map", "the price of bread",
    "the spring harvest", "an unfinished bridge", "the way people learn", "the first draft",
    "a long list of complaints", "the weather in March", "the rules of the game", "a quiet morning",
    "the shape of the coastline", "a box of letters", "the value of small habits", "the evening train",
)
_TAILS = (
    "", "", "", " after the storm", " for reasons nobody recorded", " in the last few years",
    " without much fuss", " before anyone else did", " as the season turned", " more than once",
)
_PARAGRAPH = (4, 9)  # sentences per paragraph

WORDS = (
    "amber", "falcon", "meadow", "copper", "lantern", "harbor", "violet", "granite", "willow",
    "ember", "quartz", "saffron", "tundra", "cobalt", "juniper", "marble", "orchid", "pepper",
    "raven", "sierra", "thistle", "umber", "velvet", "walnut", "zephyr", "basalt", "cedar",
    "dahlia", "fennel", "glacier", "hazel", "indigo", "jasper", "kestrel", "lotus", "maple",
)
FIRST_NAMES = (
    "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara",
)
CITIES = ("Lyon", "Porto", "Leeds", "Graz", "Turin", "Gdansk", "Utrecht", "Malmo", "Ghent", "Bilbao")


def sentence(rng: random.Random) -> str:
    """One plausible sentence."""
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}{rng.choice(_TAILS)}."


def prose(rng: random.Random, chars: int) -> list[str]:
    """Paragraphs of filler totalling about `chars` characters."""
    paragraphs: list[str] = []
    total = 0
    while total < chars:
        count = rng.randint(*_PARAGRAPH)
        paragraph = " ".join(sentence(rng) for _ in range(count))
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return paragraphs


def code_name(rng: random.Random, taken: set[str]) -> str:
    """A fresh two-word key such as `amber-falcon`, not in `taken` (which it joins)."""
    while True:
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"
        if name not in taken and name.split("-")[0] != name.split("-")[1]:
            taken.add(name)
            return name

_SLOTS = {
    "plan": ("Basic", "Team", "Pro", "Enterprise"),
    "month": ("January", "March", "May", "July", "September", "November"),
    "fmt": ("CSV", "PDF", "Excel", "JSON"),
    "code": ("E-1042", "E-2290", "E-3315", "E-4077"),
    "weekday": ("Monday", "Wednesday", "Friday", "Sunday"),
    "city": CITIES,
    "dish": ("risotto", "ramen", "lasagne", "dal", "paella"),
    "plant": ("tomatoes", "roses", "basil", "lavender", "courgettes"),
    "distance": ("40", "60", "85", "120"),
    "band": ("the quartet", "our choir", "the jazz trio", "my brass band"),
    "pet": ("puppy", "kitten", "parrot", "rabbit"),
}


def fill(rng: random.Random, template: str) -> str:
    """Fill `{slot}` placeholders of a template from the slot pools."""
    return template.format_map({name: rng.choice(pool) for name, pool in _SLOTS.items()})
