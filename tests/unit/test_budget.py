"""Budgets: limits, soft sub-call refusals, child slices, usage by role and depth."""

from __future__ import annotations

import time

import pytest

from rlm_cli.budget import Budget, Limits


def test_sub_call_limit_refuses_and_is_remembered() -> None:
    budget = Budget(Limits(max_sub_calls=2))
    assert budget.reserve_sub_call() is None
    assert budget.reserve_sub_call() is None
    assert budget.reserve_sub_call() == "max_sub_calls"
    assert budget.refused == "max_sub_calls"
    assert budget.sub_calls == 2


def test_cost_tokens_and_time_limits() -> None:
    budget = Budget(Limits(max_cost=0.01, max_tokens=1000))
    budget.charge("root", 100, 50, 0.004)
    assert budget.reached() is None
    budget.charge("sub", 800, 100, 0.001)
    assert budget.reached() == "max_tokens"
    assert Budget(Limits(deadline=time.monotonic() - 1)).reached() == "timeout"
    costly = Budget(Limits(max_cost=0.01))
    costly.charge("root", 1, 1, 0.02)
    assert costly.reached() == "max_cost"


def test_unknown_price_makes_cost_null_and_the_cost_limit_inapplicable() -> None:
    budget = Budget(Limits(max_cost=0.0001))
    budget.charge("root", 10, 10, None)
    budget.charge("root", 10, 10, 1.0)
    assert budget.reached() is None
    assert budget.snapshot()["root"]["cost_usd"] is None


def test_child_spends_from_its_slice_and_its_parents() -> None:
    parent = Budget(Limits(max_iterations=10, max_sub_calls=10))
    parent.charge("root", 10, 5, 0.5)
    child = parent.child()
    assert child.depth == 2 and child.limits.max_sub_calls == 5 and child.limits.max_iterations == 5
    child.charge("root", 100, 20, 0.25)
    child.reserve_sub_call()
    usage = parent.snapshot()
    assert usage["root"]["prompt_tokens"] == 10  # the child's own model counts as sub from above
    assert usage["sub"]["prompt_tokens"] == 100
    assert usage["total"]["completion_tokens"] == 25
    assert usage["by_depth"]["2"]["sub"]["prompt_tokens"] == 100
    assert parent.sub_calls == 1


def test_an_unpriced_call_is_reported_once_when_a_cost_limit_is_set() -> None:
    budget = Budget(Limits(max_cost=1.0))
    assert budget.charge("root", 1, 1, 0.1) is False
    assert budget.charge("root", 1, 1, None) is True
    assert budget.charge("sub", 1, 1, None) is False
    assert Budget(Limits()).charge("root", 1, 1, None) is False


def test_parallel_reservations_never_overshoot_the_sub_call_limit() -> None:
    import threading

    parent = Budget(Limits(max_sub_calls=50))
    children = [parent.child() for _ in range(2)]
    granted: list[bool] = []
    barrier = threading.Barrier(16)

    def take(budget: Budget) -> None:
        barrier.wait()
        for _ in range(20):
            granted.append(budget.reserve_sub_call() is None)

    threads = [threading.Thread(target=take, args=([parent, *children][i % 3],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == parent.sub_calls <= 50


def test_a_child_gets_half_the_money_left_whatever_the_number_type() -> None:
    parent = Budget(Limits(max_cost=2))  # an int, as from ask(max_cost=2)
    parent.charge("root", 1, 1, 0.3)
    assert parent.child().limits.max_cost == pytest.approx(0.85)
