"""Real root-model replies from published RLM trajectories, replayed through `rlm ask`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.replay import conftest
from tests.replay.corpus import load
from tests.replay.harness import replay_all
from tests.replay.judge import Verdict, intended_blocks
from tests.replay.report import rate

REQUIRED_RATE = 0.95


@pytest.fixture(scope="module")
def verdicts() -> Iterator[list[Verdict]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", "sk-replay")
    try:
        results = replay_all(load())
    finally:
        mp.undo()
    conftest.RESULTS[:] = results
    yield results


def test_the_corpus_holds_real_replies_from_three_sources() -> None:
    trajectories = load()
    replies = sum(len(t.turns) for t in trajectories)
    assert replies >= 100
    assert len({t.repo for t in trajectories}) >= 3
    assert all(t.commit and t.path and t.model for t in trajectories)


def test_the_reference_parser_keeps_a_fence_inside_a_string() -> None:
    reply = 'text\n```python\nnote = "```python inside"\nprint(note)\n```\n```\nsample output\n```'
    assert intended_blocks(reply) == ['note = "```python inside"\nprint(note)']


def test_every_recorded_reply_gets_a_verdict(verdicts: list[Verdict]) -> None:
    assert len(verdicts) == sum(len(t.turns) for t in load())
    assert all(v.category != "counted" or v.ok or v.reason for v in verdicts)


def test_replies_using_our_contract_run_as_the_model_meant(verdicts: list[Verdict]) -> None:
    failing = [f"{v.trajectory} turn {v.turn}: {v.reason}" for v in verdicts if v.category == "counted" and not v.ok]
    assert rate(verdicts) >= REQUIRED_RATE, "\n".join(failing)
