"""The broker with a scripted sub-model (in-process): parallel batches in order, one gate for the
run, soft budgets, tools, events, failures, and calls dropped once the run has stopped."""

from __future__ import annotations

import itertools
import json
import threading

import pytest

from rlm_cli.broker import Broker, SubcallSettings
from rlm_cli.budget import Budget, Limits
from rlm_cli.concurrency import AdaptiveLimit
from rlm_cli.corpus.grep import Searcher
from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.events import (
    BatchFinished,
    BatchStarted,
    Event,
    Notice,
    SubcallFinished,
    SubcallStarted,
    ToolCalled,
)
from rlm_cli.failures import Failures
from tests.fakes.chat import ScriptedModel
from tests.fakes.provider import Request


class FakeCorpus:
    def read(self, path: str) -> str:
        return {"a.py": "def check_token():\n    return True\n"}[path]

    def grep(self, pattern: Searcher, ignore_case: bool = False, max_matches: int = 200) -> list:
        class Match:
            path, line_no, line = "a.py", 1, "def check_token():"

        return [Match()] if "token" in pattern.pattern else []


def make_broker(model: ScriptedModel, events: list[Event], *, limits: Limits | None = None, concurrency: int = 4,
                window: int = 100_000, ids: itertools.count[int] | None = None) -> Broker:
    return Broker(
        run_id="r1",
        llm=model,
        settings=SubcallSettings(sub_model="openai/sub", sub_window_tokens=window, can_recurse=False),
        budget=Budget(limits or Limits()),
        gate=AdaptiveLimit(concurrency),
        concurrency=concurrency,
        emit=events.append,
        corpus=FakeCorpus(),  # type: ignore[arg-type]
        failures=Failures(),
        ids=ids,
    )


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


def test_batch_answers_in_order_within_the_concurrency_limit(model: ScriptedModel) -> None:
    def rule(request: Request) -> str:
        # Each call waits until three are in flight (or the last one is sent): with fewer allowed
        # this times out, more would show in max_in_flight.
        model.wait_for(lambda m: m.in_flight >= 3 or len(m.requests) == 9, timeout=5)
        return request.last_user.upper()

    model.sub_rule = rule
    events: list[Event] = []
    answers = make_broker(model, events, concurrency=3).llm_batch([f"item {i}" for i in range(9)])
    assert answers == [f"ITEM {i}" for i in range(9)]
    assert model.max_in_flight == 3
    assert [type(e) for e in events].count(SubcallFinished) == 9
    assert isinstance(events[0], BatchStarted) and isinstance(events[-1], BatchFinished)


def test_one_failed_item_is_an_error_string(model: ScriptedModel) -> None:
    model.sub_rule = lambda request: "ok"
    model.fail(ProviderError("openai/sub: the provider rejected the request (400)", reason="bad_request"))
    events: list[Event] = []
    answers = make_broker(model, events, concurrency=1).llm_batch(["a", "b", "c"])
    assert answers[0].startswith("Error:") and answers[1:] == ["ok", "ok"]
    assert events[-1].failed == 1


def test_over_budget_calls_say_finish_now_without_a_request(model: ScriptedModel) -> None:
    events: list[Event] = []
    broker = make_broker(model, events, limits=Limits(max_sub_calls=2))
    answers = broker.llm_batch(["a", "b", "c", "d"])
    assert sum("budget is used up" in a for a in answers) == 2
    assert len(model.requests) == 2
    assert any(isinstance(e, Notice) and "max_sub_calls" in e.message for e in events)


def test_a_prompt_past_the_sub_window_is_refused_not_sent(model: ScriptedModel) -> None:
    events: list[Event] = []
    answer = make_broker(model, events, window=100).llm_query("x" * 1000)
    assert "more than the sub-model's window" in answer and "llm_batch" in answer
    assert model.requests == []


def test_sub_llm_tools_run_in_a_bounded_loop(model: ScriptedModel) -> None:
    def rule(request: Request):
        if not any(m.get("role") == "tool" for m in request.messages):
            return {"tool_calls": [{"id": "t1", "type": "function", "function": {"name": "grep", "arguments": json.dumps({"pattern": "token"})}}]}
        return "check_token is in a.py, line 1"

    model.sub_rule = rule
    events: list[Event] = []
    answer = make_broker(model, events).llm_query("who validates tokens?", tools=["read", "grep"])
    assert answer == "check_token is in a.py, line 1"
    assert model.requests[0].tools and {t["function"]["name"] for t in model.requests[0].tools} == {"read", "grep"}
    tool_message = next(m for m in model.requests[1].messages if m["role"] == "tool")
    assert "a.py:1: def check_token():" in tool_message["content"]
    assert any(isinstance(e, ToolCalled) and e.tool == "grep" for e in events)


def test_unknown_tool_is_refused_as_text(model: ScriptedModel) -> None:
    answer = make_broker(model, []).llm_query("q", tools=["shell"])
    assert answer.startswith("Error: unknown tool")
    assert model.requests == []


def test_a_batch_whose_first_calls_all_fail_alike_stops_sending(model: ScriptedModel) -> None:
    model.fail(ConfigError("openai/sub: the provider refused the API key (401)", reason="auth"), times=None)
    events: list[Event] = []
    broker = make_broker(model, events, concurrency=2)
    answers = broker.llm_batch([f"item {i}" for i in range(20)])
    assert broker.failures.failure is not None and broker.failures.failure.reason == "auth"  # type: ignore[attr-defined]
    assert 8 <= len(model.requests) < 20  # the first wave (at least 8 calls), not the whole batch
    assert all(a.startswith("Error:") for a in answers)
    assert broker.llm_query("later") == "Error: the run has stopped; this sub-call was not sent"


def test_a_call_over_the_cost_budget_says_finish_now_without_a_request() -> None:
    model = ScriptedModel(price=(1e-6, 4e-6), max_output=8192)
    events: list[Event] = []
    broker = make_broker(model, events, limits=Limits(max_cost=0.0001))
    assert 8192 * 4e-6 > 0.0001
    answer = broker.llm_query("x" * 600)  # 200 tokens in: $0.0002 before any output
    assert "max-cost budget is used up" in answer
    assert model.requests == []


def test_stopping_drops_queued_calls_and_abandons_those_in_flight(model: ScriptedModel) -> None:
    model.hold()
    events: list[Event] = []
    broker = make_broker(model, events, concurrency=2)
    answers: list[list[str]] = []
    batch = threading.Thread(target=lambda: answers.append(broker.llm_batch([f"item {i}" for i in range(10)])))
    batch.start()
    assert model.wait_for(lambda m: len(m.requests) == 2)
    broker.stop()
    batch.join(timeout=10)
    assert not batch.is_alive() and len(answers) == 1
    assert answers[0] == ["Error: the run has stopped; this sub-call was not sent"] * 10
    assert len(model.requests) == 2 and model.in_flight == 0
    assert broker.failures.failure is None  # the run's end is no provider failure
    assert broker.llm_query("later") == "Error: the run has stopped; this sub-call was not sent"
    assert isinstance(events[-1], SubcallStarted)  # nothing is reported once the run is over


def test_call_ids_belong_to_the_broker_or_the_run_tree(model: ScriptedModel) -> None:
    first: list[Event] = []
    second: list[Event] = []
    make_broker(model, first).llm_query("a")
    make_broker(model, second).llm_query("b")
    ids = [e.call_id for e in first + second if isinstance(e, SubcallStarted)]
    assert ids == ["c1", "c1"]  # a new run numbers from 1, whatever ran before in the process
    shared = itertools.count(1)
    tree: list[Event] = []
    make_broker(model, tree, ids=shared).llm_query("a")
    make_broker(model, tree, ids=shared).llm_batch(["b", "c"])
    ids = [e.call_id for e in tree if isinstance(e, SubcallStarted)]
    assert len(set(ids)) == 3  # unique across the brokers of one run tree


def test_a_limit_is_noticed_once_however_many_threads_meet_it(model: ScriptedModel) -> None:
    events: list[Event] = []
    answers = make_broker(model, events, limits=Limits(max_sub_calls=1), concurrency=8).llm_batch(["q"] * 40)
    assert sum("budget is used up" in a for a in answers) == 39
    assert sum(isinstance(e, Notice) for e in events) == 1
