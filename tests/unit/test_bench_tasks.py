"""Bench generators: the same seed gives the same items, and the answer keys hold in the text."""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import combinations

import pytest

from rlm_cli.bench.items import parse_sizes, size_label
from rlm_cli.bench.tasks import TASKS, generate
from rlm_cli.bench.tasks.aggregate import PHRASINGS
from rlm_cli.bench.tasks.codeqa import ROLES
from rlm_cli.bench.tasks.niah import needle_sentence
from rlm_cli.bench.tasks.pairs import TOPICS
from rlm_cli.units import CHARS_PER_TOKEN

SIZE = 3_000


@pytest.mark.parametrize("task", list(TASKS))
def test_same_seed_same_item_other_seed_other_item(task: str) -> None:
    first, again, other = generate(task, SIZE, 7, 1), generate(task, SIZE, 7, 1), generate(task, SIZE, 8, 1)
    assert first == again
    assert first.as_text() != other.as_text()
    assert generate(task, SIZE, 7, 2).as_text() != first.as_text()


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("size", [2_000, 20_000])
def test_inputs_come_near_the_requested_size(task: str, size: int) -> None:
    chars = len(generate(task, size, 0, 0).as_text())
    assert 0.8 * size * CHARS_PER_TOKEN <= chars <= 1.35 * size * CHARS_PER_TOKEN


def test_sizes_parse_and_print() -> None:
    assert parse_sizes("8k, 32k,1m,1.5k,500") == [8_000, 32_000, 1_000_000, 1_500, 500]
    assert [size_label(s) for s in (8_000, 1_000_000, 1_500, 500)] == ["8k", "1m", "1.5k", "500"]
    with pytest.raises(ValueError, match="bad size"):
        parse_sizes("8kb")


@pytest.mark.parametrize("index", range(6))
def test_niah_needle_sits_once_where_the_key_says(index: int) -> None:
    item = generate("niah", SIZE, 0, index)
    (key, value), = item.meta["needles"].items()
    assert item.answer == value and key in item.question
    sentence = needle_sentence(item.meta["kind"], key, value).rstrip(".")
    assert item.text.count(sentence) == 1 and item.text.count(value) == 1
    assert item.text.index(sentence) / len(item.text) == pytest.approx(item.meta["depth"][key], abs=1e-3)
    assert item.meta["kind"] in item.question
    assert {generate("niah", SIZE, 0, i).meta["kind"] for i in range(3)} == {"word", "number", "uuid"}


def test_multi_niah_holds_every_needle_once() -> None:
    item = generate("multi-niah", SIZE, 0, 1)
    assert len(set(item.answer)) == len(item.answer) == 4
    for key, value in item.meta["needles"].items():
        assert key in item.question
        assert item.text.count(needle_sentence(item.meta["kind"], key, value).rstrip(".")) == 1


def _category(message: str) -> str:
    found = [
        label for label, phrasings in PHRASINGS.items() for phrasing in phrasings
        if re.fullmatch(re.escape(phrasing).replace(r"\{", "{").replace(r"\}", "}").format_map(_ANY), message)
    ]
    assert len(found) == 1, message
    return found[0]


class _Any(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ".+?"


_ANY = _Any()


@pytest.mark.parametrize("index", range(3))
def test_aggregate_key_matches_a_recount_of_the_text(index: int) -> None:
    item = generate("aggregate", SIZE, 0, index)
    counts = Counter(_category(line.split(": ", 1)[1]) for line in item.text.splitlines())
    kind = item.meta["question"]
    if kind == "count":
        target = re.search(r"about (.+?)\?", item.question).group(1)
        assert item.answer == counts[target] and item.scoring == "number"
    elif kind == "most_common":
        (top, first), (_, second) = counts.most_common(2)
        assert item.answer == top and first > second
    else:
        assert item.answer == dict(counts)


def _topic(message: str) -> str:
    found = [
        topic for topic, (_, posts) in TOPICS.items() for post in posts
        if re.fullmatch(re.escape(post).replace(r"\{", "{").replace(r"\}", "}").format_map(_ANY), message)
    ]
    assert len(found) == 1, message
    return found[0]


@pytest.mark.parametrize("index", range(5))
def test_pairs_key_matches_the_pairs_in_the_text(index: int) -> None:
    item = generate("pairs", SIZE, 0, index)
    writers = []
    for line in item.text.splitlines():
        user, city, message = re.fullmatch(r"(U\d{6}) \((\w+), member since \d{4}\): (.*)", line).groups()
        if _topic(message) == item.meta["topic"]:
            writers.append((user, city))
    gold = sorted(sorted((a, b)) for (a, x), (b, y) in combinations(writers, 2) if x == y)
    assert gold == item.answer and gold
    assert TOPICS[item.meta["topic"]][0] in item.question


@pytest.mark.parametrize("index", range(6))
def test_codeqa_answer_is_the_one_function_with_the_role_and_its_only_caller(index: int) -> None:
    item = generate("codeqa", SIZE, 0, index)
    meta = item.meta
    defining = [path for path, body in item.files.items() if f"def {meta['function']}(" in body]
    assert defining == [meta["path"]]
    assert ROLES[index % len(ROLES)].body in item.files[meta["path"]]
    calls = [path for path, body in item.files.items() if re.search(rf"(?<!def ){meta['function']}\(", body)]
    assert calls == [meta["caller_path"]]
    caller_body = item.files[meta["caller_path"]].split(f"def {meta['caller']}(")[1].split("\ndef ")[0]
    assert f"{meta['function']}(" in caller_body
    assert f"{item.answer}) {meta['function']} in {meta['path']}, called by {meta['caller']} in {meta['caller_path']}" in item.question
    assert len(re.findall(r"^[A-D]\) ", item.question, re.M)) == 4
    for body in item.files.values():
        compile(body, "generated.py", "exec")


def test_verbatim_record_is_one_whole_line_of_the_input() -> None:
    item = generate("verbatim", SIZE, 0, 0)
    lines = item.text.splitlines()
    assert lines.count(item.answer) == 1
    assert lines.index(item.answer) + 1 == item.meta["line"]
    record = json.loads(item.answer)
    assert record["order_id"] == item.meta["order_id"] and item.meta["order_id"] in item.question
    assert len(record["items"]) >= 18
    assert sum(item.meta["order_id"] in line for line in lines) == 1
