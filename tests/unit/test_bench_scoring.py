"""Bench scoring on hand-made answers: every rule, its parsing, and the edit distance."""

from __future__ import annotations

import random

import pytest

from rlm_cli.bench.scoring import edit_distance, parse_choice, parse_int, parse_pairs, score


@pytest.mark.parametrize(("answer", "expected"), [
    ("4f1c9d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f", 1.0),
    ("The special magic uuid is 4F1C9D2E-7A3B-4C5D-8E9F-0A1B2C3D4E5F.", 1.0),
    ("4f1c9d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5", 0.0),  # one character short
    ("I could not find it.", 0.0),
])
def test_needle_is_a_whole_token_match(answer: str, expected: float) -> None:
    assert score("needle", answer, "4f1c9d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f").value == expected


def test_needle_does_not_match_inside_a_longer_number() -> None:
    assert score("needle", "12345678", "1234567").value == 0.0
    assert score("needle", "word: topaz", "topaz").value == 1.0


def test_needles_score_the_fraction_found() -> None:
    result = score("needles", "amber-cedar: 1234567\nraven-lotus: 7654321", ["1234567", "7654321", "1111111", "2222222"])
    assert result.value == 0.5 and result.detail == {"found": 2, "of": 4}


@pytest.mark.parametrize(("answer", "parsed"), [
    ("42", 42), ("There are 1,204 such tickets.", 1204), ("Of 300 tickets, answer: 17", 17),
    ("The answer is: 9", 9), ("none", None),
])
def test_parse_int(answer: str, parsed: int | None) -> None:
    assert parse_int(answer) == parsed


def test_numbers_score_0_75_to_the_error() -> None:
    assert score("number", "20", 20).value == 1.0
    assert score("number", "18", 20).value == pytest.approx(0.5625)
    assert score("number", "23 tickets", 20).value == pytest.approx(0.421875)
    assert score("number", "no idea", 20).value == 0.0


@pytest.mark.parametrize(("answer", "expected"), [
    ("billing", 1.0), ("Billing.", 1.0), ("**billing**", 1.0), ("Answer: billing", 1.0),
    ("billing and shipping", 0.0), ("shipping", 0.0),
])
def test_labels_match_exactly_after_normalising(answer: str, expected: float) -> None:
    assert score("label", answer, "billing").value == expected


def test_distribution_averages_per_label_scores_from_json_or_prose() -> None:
    key = {"billing": 10, "bug": 4, "shipping": 6}
    assert score("distribution", '{"billing": 10, "bug": 4, "shipping": 6}', key).value == 1.0
    assert score("distribution", "```json\n{\"Billing\": 9, \"bug\": 4, \"shipping\": 6}\n```", key).value == pytest.approx((0.75 + 2) / 3)
    assert score("distribution", "billing: 10, bug - 4", key).value == pytest.approx(2 / 3)


def test_pairs_f1_over_unordered_pairs() -> None:
    key = [["U100001", "U100002"], ["U100003", "U100004"]]
    assert score("pairs", "(U100002, U100001)\n(U100003, U100004)", key).value == 1.0
    half = score("pairs", "U100001 and U100002\nU100005, U100006", key)
    assert half.value == pytest.approx(0.5) and half.detail["precision"] == 0.5 and half.detail["recall"] == 0.5
    assert score("pairs", "NONE", key).value == 0.0
    assert score("pairs", "NONE", []).value == 1.0
    assert parse_pairs("(U100001, U100002), (U100002, U100001)") == {("U100001", "U100002")}


@pytest.mark.parametrize(("answer", "letter"), [
    ("C", "C"), ("(B)", "B"), ("D) ensure_session in app/x.py, called by y", "D"), ("The answer is a.", "A"),
    ("A) or B)", None), ("I am not sure", None),
])
def test_choice_parsing(answer: str, letter: str | None) -> None:
    assert parse_choice(answer) == letter
    assert score("choice", answer, "C").value == float(letter == "C")


def test_verbatim_is_exact_with_the_edit_distance_alongside() -> None:
    record = '{"order_id": "ORD-1", "items": [{"qty": 2}]}'
    assert score("verbatim", record, record).value == 1.0
    assert score("verbatim", f"```json\n{record}\n```", record).value == 1.0
    near = score("verbatim", record.replace("2", "3"), record)
    assert near.value == 0.0 and near.detail["edit_distance"] == 1
    assert near.detail["similarity"] == pytest.approx(1 - 1 / len(record), abs=1e-4)


def _reference_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def test_edit_distance_agrees_with_the_textbook_table() -> None:
    rng = random.Random(3)
    for _ in range(500):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 15)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 15)))
        assert edit_distance(a, b) == _reference_distance(a, b), (a, b)
    assert edit_distance("kitten", "sitting") == 3
    long = "x" * 5000
    assert edit_distance(long, "y" + long[1:] + "z") == 2
