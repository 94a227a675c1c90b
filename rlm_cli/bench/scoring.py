"""Scoring answers against answer keys, one rule per kind of key (RULER and OOLONG conventions).

Leaf module of the bench package: pure functions over strings and JSON values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NUMBER_BASE = 0.75  # OOLONG: a numeric answer off by e scores 0.75 ** |e|
_INT = re.compile(r"-?\d[\d,]*")
_PAIR = re.compile(r"\b(U\d{6})\b\W{1,6}(?:and\W+)?\b(U\d{6})\b")


@dataclass(frozen=True)
class Score:
    """A score in [0, 1] and what went into it."""

    value: float
    detail: dict[str, Any] = field(default_factory=dict)


def score(kind: str, answer: str, key: Any) -> Score:
    """Score `answer` against `key` by the rule for `kind`."""
    return _RULES[kind](answer, key)


def contains_value(answer: str, value: str) -> bool:
    """Whether `value` appears in `answer` as a whole token, ignoring case (RULER's string match)."""
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", answer, re.I) is not None


def needle(answer: str, key: str) -> Score:
    """1 when the needle's value is in the answer."""
    return Score(float(contains_value(answer, key)))


def needles(answer: str, key: list[str]) -> Score:
    """The fraction of the needles' values in the answer (RULER's string_match_all)."""
    found = [value for value in key if contains_value(answer, value)]
    return Score(len(found) / len(key), {"found": len(found), "of": len(key)})


def parse_int(answer: str) -> int | None:
    """The number an answer gives: the one after `answer:` if any, else the first integer."""
    tail = re.split(r"answer\s*(?:is)?\s*[:=]", answer, flags=re.I)[-1]
    match = _INT.search(tail)
    return int(match.group().replace(",", "")) if match else None


def number(answer: str, key: int) -> Score:
    """OOLONG's numeric score: 0.75 ** |error|, 0 without a number."""
    given = parse_int(answer)
    if given is None:
        return Score(0.0, {"parsed": None})
    return Score(NUMBER_BASE ** abs(given - key), {"parsed": given})


def normalize(text: str) -> str:
    """Lower case, no surrounding quotes, markup or final period, single spaces."""
    text = re.sub(r"^(?:final\s+)?answer\s*[:=]\s*", "", text.strip(), flags=re.I)
    return " ".join(text.strip().strip("`*\"'").rstrip(".").strip().lower().split())


def label(answer: str, key: str) -> Score:
    """OOLONG's label score: exact match after normalisation."""
    return Score(float(normalize(answer) == normalize(key)), {"normalized": normalize(answer)[:80]})


def distribution(answer: str, key: dict[str, int]) -> Score:
    """The mean numeric score over the labels of a distribution; a missing label scores 0."""
    given = _label_counts(answer, list(key))
    parts = [NUMBER_BASE ** abs(given[name] - count) if name in given else 0.0 for name, count in key.items()]
    return Score(sum(parts) / len(parts), {"parsed": given})


def _label_counts(answer: str, labels: list[str]) -> dict[str, int]:
    try:
        data = json.loads(_strip_fence(answer))
    except ValueError:
        data = None
    if isinstance(data, dict):
        lowered = {str(name).lower(): value for name, value in data.items()}
        return {name: int(lowered[name]) for name in labels if isinstance(lowered.get(name), int | float)}
    found = {}
    for name in labels:
        match = re.search(rf"{re.escape(name)}\W{{0,4}}(\d+)", answer, re.I)
        if match:
            found[name] = int(match.group(1))
    return found


def parse_pairs(answer: str) -> set[tuple[str, str]]:
    """Unordered pairs of user ids, as sorted tuples."""
    return {tuple(sorted(match)) for match in _PAIR.findall(answer)}


def pairs(answer: str, key: list[list[str]]) -> Score:
    """F1 over pairs (OOLONG-Pairs); an empty key and an empty answer agree fully."""
    gold = {tuple(sorted(pair)) for pair in key}
    given = parse_pairs(answer)
    hits = len(gold & given)
    if not gold and not given:
        return Score(1.0, {"precision": 1.0, "recall": 1.0, "given": 0})
    precision = hits / len(given) if given else 0.0
    recall = hits / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return Score(f1, {"precision": round(precision, 4), "recall": round(recall, 4), "given": len(given)})


def parse_choice(answer: str) -> str | None:
    """The option letter an answer picks (`C`, `(C)`, `C) ...`, `answer: C`); None when unclear."""
    text = answer.strip()
    stated = set(re.findall(r"answer\W+(?:is\W+)?\(?([A-D])\b", text, re.I))
    if len(stated) == 1:
        return stated.pop().upper()
    named = set(re.findall(r"^\(?([A-D])(?:[.:)]|$)|\(([A-D])\)|\b([A-D])\)", text))
    letters = {letter for group in named for letter in group if letter}
    return letters.pop() if len(letters) == 1 else None


def choice(answer: str, key: str) -> Score:
    """Multiple choice: 1 for the right letter; an answer naming several letters scores 0."""
    picked = parse_choice(answer)
    return Score(float(picked == key), {"picked": picked})


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, bit-parallel (Myers/Hyyrö) so long records stay cheap."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    masks: dict[str, int] = {}
    for position, char in enumerate(b):
        masks[char] = masks.get(char, 0) | 1 << position
    full = (1 << len(b)) - 1
    top = 1 << (len(b) - 1)
    plus, minus, distance = full, 0, len(b)
    for char in a:
        eq = masks.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        hp = minus | (~(xh | plus) & full)
        hm = plus & xh
        if hp & top:
            distance += 1
        elif hm & top:
            distance -= 1
        hp = ((hp << 1) | 1) & full
        hm = (hm << 1) & full
        plus = hm | (~(xv | hp) & full)
        minus = hp & xv
    return distance


def verbatim(answer: str, key: str) -> Score:
    """Exact match (surrounding whitespace and a code fence aside); the edit distance alongside."""
    given = _strip_fence(answer)
    distance = edit_distance(given, key)
    similarity = 1 - distance / max(len(given), len(key), 1)
    return Score(float(given == key), {"edit_distance": distance, "similarity": round(similarity, 4)})


def _strip_fence(answer: str) -> str:
    text = answer.strip()
    fenced = re.fullmatch(r"```[\w-]*\n(.*?)\n?```", text, re.S)
    return fenced.group(1).strip() if fenced else text


_RULES: dict[str, Callable[[str, Any], Score]] = {
    "needle": needle, "needles": needles, "number": number, "label": label,
    "distribution": distribution, "pairs": pairs, "choice": choice, "verbatim": verbatim,
}
