"""Usage and cost: the unknown-price rule, who pays for a call, and the forms read back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rlm_cli import events as ev
from rlm_cli.accounting import (
    Ledger,
    Usage,
    charge,
    charged_when_finished,
    empty_usage,
    payers,
    total_cost,
)
from rlm_cli.budget import Budget, Limits
from rlm_cli.render.state import RunState


def test_a_cost_stays_unknown_once_one_call_had_no_price() -> None:
    usage = Usage()
    usage.add(100, 20, 0.5)
    usage.add(10, 2, None)
    usage.add(10, 2, 0.25)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.tokens, usage.cost_usd) == (120, 24, 144, None)


def test_a_bucket_reads_back_from_its_json_form_and_tolerates_gaps() -> None:
    bucket = {"prompt_tokens": 7, "completion_tokens": 3, "cost_usd": 0.01, "cached_input_tokens": 2}
    assert Usage.of(bucket).as_dict() == bucket
    assert Usage.of(bucket).tokens == 10
    assert Usage.of(None) == Usage(0, 0, None)
    assert Usage.of({"prompt_tokens": 4}).tokens == 4


def test_a_call_is_charged_to_its_run_under_its_role_and_to_every_ancestor_as_sub() -> None:
    root, child, grandchild = Ledger(), Ledger(), Ledger()
    charge([grandchild, child, root], "root", 100, 10, 0.1, depth=3)
    charge([child, root], "sub", 50, 5, 0.05, depth=2)
    assert (grandchild.root.tokens, grandchild.sub.tokens) == (110, 0)
    assert (child.root.tokens, child.sub.tokens) == (0, 165)
    assert (root.root.tokens, root.sub.tokens, root.total.tokens) == (0, 165, 165)
    assert root.total.cost_usd == pytest.approx(0.15)
    usage = root.as_dict()
    assert usage["by_depth"]["3"]["sub"]["prompt_tokens"] == 100
    assert usage["by_depth"]["2"]["sub"]["completion_tokens"] == 5
    assert set(usage) == {"root", "sub", "total", "cached", "by_depth", "by_deployment"}
    assert usage["by_deployment"] == {}  # no model had several deployments


def test_calls_are_counted_per_deployment_that_answered_them_at_every_payer() -> None:
    root, child = Ledger(), Ledger()
    charge([child, root], "root", 100, 10, 0.1, depth=2, deployment="eu")
    charge([root], "sub", 50, 5, None, depth=1, deployment="us")
    charge([root], "sub", 50, 5, 0.2, depth=1, deployment="eu")
    charge([root], "root", 7, 1, 0.0, depth=1)  # a model of one deployment: counted as before only
    assert root.as_dict()["by_deployment"] == {
        "eu": {"calls": 2, "prompt_tokens": 150, "completion_tokens": 15, "cost_usd": pytest.approx(0.3), "cached_input_tokens": 0},
        "us": {"calls": 1, "prompt_tokens": 50, "completion_tokens": 5, "cost_usd": None, "cached_input_tokens": 0},
    }
    assert child.as_dict()["by_deployment"]["eu"]["calls"] == 1


def test_a_call_from_the_response_cache_spends_nothing_and_is_counted_as_saved() -> None:
    root, child = Ledger(), Ledger()
    charge([child, root], "sub", 400, 40, 0.02, depth=2, from_cache=True)
    charge([child, root], "sub", 100, 10, 0.01, depth=2, cached_input=60)
    for ledger in (root, child):
        assert ledger.as_dict()["cached"] == {
            "calls": 1, "prompt_tokens": 400, "completion_tokens": 40, "cost_usd": 0.02, "cached_input_tokens": 0,
        }
        assert (ledger.sub.tokens, ledger.total.tokens, ledger.total.cost_usd) == (110, 110, 0.01)
        assert ledger.sub.cached_input_tokens == ledger.total.cached_input_tokens == 60


def test_a_budget_is_not_charged_for_a_cached_call() -> None:
    budget = Budget(Limits(max_cost=0.01))
    budget.charge("sub", 400, 40, 0.5, from_cache=True)
    assert budget.reached() is None and budget.cost == 0.0
    assert budget.snapshot()["cached"]["cost_usd"] == 0.5


def test_a_ledger_without_depths_and_the_empty_usage_share_one_form() -> None:
    ledger = Ledger()
    ledger.add("root", 1, 2, 0.0)
    assert ledger.by_depth == {}
    assert set(empty_usage()) == {"root", "sub", "total", "cached"}
    assert empty_usage()["cached"] == Ledger().as_dict()["cached"]
    assert empty_usage()["total"] == Ledger().total.as_dict()


@dataclass
class _Node:
    parent: _Node | None = None


def test_the_payers_of_a_call_are_its_run_then_its_ancestors_nearest_first() -> None:
    top = _Node()
    middle = _Node(top)
    leaf = _Node(middle)
    assert payers(leaf) == [leaf, middle, top]
    assert payers(top) == [top]


def test_an_rlm_query_is_charged_by_its_child_run_not_by_its_finished_event() -> None:
    assert charged_when_finished("llm") and charged_when_finished("tool")
    assert not charged_when_finished("rlm")


def test_the_budget_and_the_live_state_agree_on_a_run_tree_with_a_child() -> None:
    """The same calls, counted by the budget as they are made and by the live view from events."""
    budget = Budget(Limits())
    budget.charge("root", 100, 10, 0.01)
    budget.charge("sub", 40, 4, 0.004, cached_input=8)
    budget.charge("sub", 70, 7, 0.007, from_cache=True)
    child = budget.child()
    child.charge("root", 30, 3, 0.003)
    child.charge("sub", 20, 2, None)

    state = RunState()
    events: list[ev.Event] = [
        ev.RunStarted("r", question="q", model="m", sub_model="s", depth=1, max_depth=2, parent_run_id=None, input={}, sources=[], budgets={}),
        ev.TurnStarted("r", turn=1),
        ev.ModelReplied("r", turn=1, prompt_chars=0, reply="", prompt_tokens=100, completion_tokens=10, cost_usd=0.01, latency_s=0),
        ev.SubcallStarted("r", call_id="c1", batch_id=None, index=0, model="s", prompt="p", prompt_chars=1),
        ev.SubcallFinished("r", call_id="c1", batch_id=None, index=0, model="s", answer="a", answer_chars=1,
                           prompt_tokens=40, completion_tokens=4, cost_usd=0.004, latency_s=0, error=None, cached_input_tokens=8),
        ev.SubcallStarted("r", call_id="c4", batch_id=None, index=0, model="s", prompt="p", prompt_chars=1),
        ev.SubcallFinished("r", call_id="c4", batch_id=None, index=0, model="s", answer="a", answer_chars=1,
                           prompt_tokens=70, completion_tokens=7, cost_usd=0.007, latency_s=0, error=None, from_cache=True),
        ev.SubcallStarted("r", call_id="c2", batch_id=None, index=0, model="s", prompt="p", prompt_chars=1, kind="rlm"),
        ev.RunStarted("k", question="p", model="s", sub_model="s", depth=2, max_depth=2, parent_run_id="r", input={},
                      sources=[], budgets={}, parent_call_id="c2"),
        ev.ModelReplied("k", turn=1, prompt_chars=0, reply="", prompt_tokens=30, completion_tokens=3, cost_usd=0.003, latency_s=0),
        ev.SubcallStarted("k", call_id="c3", batch_id=None, index=0, model="s", prompt="p", prompt_chars=1),
        ev.SubcallFinished("k", call_id="c3", batch_id=None, index=0, model="s", answer="a", answer_chars=1,
                           prompt_tokens=20, completion_tokens=2, cost_usd=None, latency_s=0, error=None),
        ev.SubcallFinished("r", call_id="c2", batch_id=None, index=0, model="s", answer="a", answer_chars=1,
                           prompt_tokens=50, completion_tokens=5, cost_usd=None, latency_s=0, error=None, child_run_id="k"),
    ]
    for event in events:
        state.apply(event)
    assert state.root is not None
    seen, counted = state.root.usage.as_dict(), budget.snapshot()
    for part in ("root", "sub", "total", "cached"):
        assert seen[part] == counted[part]
    assert counted["sub"] == {"prompt_tokens": 90, "completion_tokens": 9, "cost_usd": None, "cached_input_tokens": 8}
    assert counted["cached"] == {"calls": 1, "prompt_tokens": 70, "completion_tokens": 7, "cost_usd": 0.007, "cached_input_tokens": 0}
    assert state.runs["k"].usage.as_dict()["root"] == child.snapshot()["root"]


def test_a_sum_of_costs_is_unknown_once_one_is() -> None:
    assert total_cost([0.25, 0.5]) == pytest.approx(0.75)
    assert total_cost([0.25, None, 0.5]) is None
    assert total_cost([]) == 0.0
