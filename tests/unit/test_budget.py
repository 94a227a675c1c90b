"""Budgets: limits, soft sub-call refusals, child slices, usage by role and depth."""

from __future__ import annotations

import time

import pytest

from rlm_cli.budget import Budget, Limits, OverBudget, Quote


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


PRICED = dict(prompt_price=1e-6, output_price=4e-6)  # USD per token


def test_a_call_that_fits_is_held_at_its_worst_case_until_it_settles() -> None:
    budget = Budget(Limits(max_cost=0.1, max_tokens=100_000))
    held = budget.reserve(Quote(prompt_tokens=1000, max_output=2000, **PRICED))
    assert held.max_output == 2000
    assert budget.remaining_text() == "$0.1000 left, 100,000 tokens left"  # spent only, not held
    assert held.settle("sub", 900, 100, 0.0013) is False
    assert (budget.tokens, budget.cost) == (1000, pytest.approx(0.0013))
    again = budget.reserve(Quote(prompt_tokens=1000, max_output=2000, **PRICED))
    again.release()
    assert budget.tokens == 1000  # a call that failed spent nothing known


def test_with_nothing_in_flight_the_output_cap_shrinks_to_fit_or_the_call_is_refused() -> None:
    budget = Budget(Limits(max_cost=0.01))
    budget.charge("root", 1, 1, 0.004)
    # $0.006 left: 1000 prompt tokens cost $0.001, so $0.005 buys 1250 output tokens.
    held = budget.reserve(Quote(prompt_tokens=1000, max_output=8192, **PRICED))
    assert held.max_output == 1250
    held.settle("root", 1000, 1250, 0.006)
    with pytest.raises(OverBudget) as refused:
        budget.reserve(Quote(prompt_tokens=10, max_output=8192, **PRICED))
    assert refused.value.limit == "max_cost" and budget.refused == "max_cost"
    tokens = Budget(Limits(max_tokens=3000))
    with pytest.raises(OverBudget, match="max_tokens"):
        tokens.reserve(Quote(prompt_tokens=2500, max_output=8192))  # 500 left: under MIN_OUTPUT_TOKENS


def test_an_unpriced_model_reserves_tokens_only_and_is_noted_once() -> None:
    budget = Budget(Limits(max_cost=0.001, max_tokens=50_000))
    first = budget.reserve(Quote(prompt_tokens=100, max_output=20_000))
    second = budget.reserve(Quote(prompt_tokens=100, max_output=20_000))
    assert first.unpriced and not second.unpriced  # $0.001 is no bar: no price is known
    first.settle("root", 100, 20_000, None)
    second.settle("sub", 100, 20_000, None)
    third = budget.reserve(Quote(prompt_tokens=100, max_output=20_000))
    assert third.max_output == 50_000 - 40_200 - 100  # but the tokens count


def test_sixteen_calls_in_flight_never_spend_past_the_cost_limit() -> None:
    import random
    import threading

    top = Budget(Limits(max_cost=0.05))
    child = top.child()  # a slice of it, and what the child spends counts above too
    quote = Quote(prompt_tokens=2000, max_output=1000, **PRICED)  # worst case $0.006
    peak: list[float] = []
    refused: list[str] = []
    lock = threading.Lock()

    def caller(budget: Budget) -> None:
        while True:
            try:
                held = budget.reserve(quote)
            except OverBudget as over:
                refused.append(over.limit)
                return
            with lock:
                peak.append(top.cost + top._reserved_cost)
            used = random.randint(1, held.max_output)
            held.settle("sub", 2000, used, 2000 * 1e-6 + used * 4e-6)

    threads = [threading.Thread(target=caller, args=(child if i % 4 == 0 else top,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == 16 and set(refused) == {"max_cost"}
    assert max(peak) <= 0.05 + 1e-9  # spent plus held never passed the limit
    assert child.cost <= 0.025 + 1e-9
    assert 0.05 - 0.006 < top.cost <= 0.05 + 1e-9  # the budget was used, not refused early
