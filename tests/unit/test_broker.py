"""The broker: parallel batches in order, one gate for the run, soft budgets, tools, events."""

from __future__ import annotations

import json
import threading

import pytest

from rlm_cli.broker import Broker, SubcallSettings
from rlm_cli.budget import Budget, Limits
from rlm_cli.corpus.grep import Searcher
from rlm_cli.events import BatchFinished, BatchStarted, Event, Notice, SubcallFinished, ToolCalled
from rlm_cli.failures import Failures
from rlm_cli.llm import LLMClient, RetryPolicy
from tests.fakes.provider import FakeProvider, Request


class FakeCorpus:
    def read(self, path: str) -> str:
        return {"a.py": "def check_token():\n    return True\n"}[path]

    def grep(self, pattern: Searcher, ignore_case: bool = False, max_matches: int = 200) -> list:
        class Match:
            path, line_no, line = "a.py", 1, "def check_token():"

        return [Match()] if "token" in pattern.pattern else []


def make_broker(provider: FakeProvider, events: list[Event], *, limits: Limits | None = None, concurrency: int = 4, window: int = 100_000) -> Broker:
    return Broker(
        run_id="r1",
        llm=LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=2)),
        settings=SubcallSettings(sub_model="openai/sub", sub_window_tokens=window, can_recurse=False),
        budget=Budget(limits or Limits()),
        gate=threading.BoundedSemaphore(concurrency),
        concurrency=concurrency,
        emit=events.append,
        corpus=FakeCorpus(),
        failures=Failures(),
    )


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def test_batch_answers_in_order_within_the_concurrency_limit(provider: FakeProvider) -> None:
    provider.latency = 0.2
    provider.sub_rule = lambda request: request.last_user.upper()
    events: list[Event] = []
    answers = make_broker(provider, events, concurrency=3).llm_batch([f"item {i}" for i in range(9)])
    assert answers == [f"ITEM {i}" for i in range(9)]
    assert provider.max_in_flight == 3
    assert [type(e) for e in events].count(SubcallFinished) == 9
    assert isinstance(events[0], BatchStarted) and isinstance(events[-1], BatchFinished)


def test_one_failed_item_is_an_error_string(provider: FakeProvider) -> None:
    provider.sub_rule = lambda request: "ok"
    provider.fail(status=400, times=1)
    events: list[Event] = []
    answers = make_broker(provider, events, concurrency=1).llm_batch(["a", "b", "c"])
    assert answers[0].startswith("Error:") and answers[1:] == ["ok", "ok"]
    assert events[-1].failed == 1


def test_over_budget_calls_say_finish_now_without_a_request(provider: FakeProvider) -> None:
    events: list[Event] = []
    broker = make_broker(provider, events, limits=Limits(max_sub_calls=2))
    answers = broker.llm_batch(["a", "b", "c", "d"])
    assert sum("budget is used up" in a for a in answers) == 2
    assert len(provider.requests) == 2
    assert any(isinstance(e, Notice) and "max_sub_calls" in e.message for e in events)


def test_a_prompt_past_the_sub_window_is_refused_not_sent(provider: FakeProvider) -> None:
    events: list[Event] = []
    answer = make_broker(provider, events, window=100).llm_query("x" * 1000)
    assert "more than the sub-model's window" in answer and "llm_batch" in answer
    assert provider.requests == []


def test_sub_llm_tools_run_in_a_bounded_loop(provider: FakeProvider) -> None:
    def rule(request: Request):
        if not any(m.get("role") == "tool" for m in request.messages):
            return {"tool_calls": [{"id": "t1", "type": "function", "function": {"name": "grep", "arguments": json.dumps({"pattern": "token"})}}]}
        return "check_token is in a.py, line 1"

    provider.sub_rule = rule
    events: list[Event] = []
    answer = make_broker(provider, events).llm_query("who validates tokens?", tools=["read", "grep"])
    assert answer == "check_token is in a.py, line 1"
    assert provider.requests[0].tools and {t["function"]["name"] for t in provider.requests[0].tools} == {"read", "grep"}
    tool_message = next(m for m in provider.requests[1].messages if m["role"] == "tool")
    assert "a.py:1: def check_token():" in tool_message["content"]
    assert any(isinstance(e, ToolCalled) and e.tool == "grep" for e in events)


def test_unknown_tool_is_refused_as_text(provider: FakeProvider) -> None:
    answer = make_broker(provider, []).llm_query("q", tools=["shell"])
    assert answer.startswith("Error: unknown tool")
    assert provider.requests == []


def test_a_batch_whose_first_calls_all_fail_alike_stops_sending(provider: FakeProvider) -> None:
    provider.fail(status=401, times=None)
    events: list[Event] = []
    broker = make_broker(provider, events, concurrency=2)
    answers = broker.llm_batch([f"item {i}" for i in range(20)])
    assert broker.failures.failure is not None and broker.failures.failure.reason == "auth"  # type: ignore[attr-defined]
    assert 8 <= len(provider.requests) < 20  # the first wave (at least 8 calls), not the whole batch
    assert all(a.startswith("Error:") for a in answers)
    assert broker.llm_query("later") == "Error: the run has stopped; this sub-call was not sent"


def test_a_call_over_the_cost_budget_says_finish_now_without_a_request(provider: FakeProvider) -> None:
    import rlm_cli.llm

    events: list[Event] = []
    broker = make_broker(provider, events, limits=Limits(max_cost=0.0001))
    broker.llm.price = lambda model: (1e-6, 4e-6)  # type: ignore[method-assign]
    assert rlm_cli.llm.DEFAULT_MAX_OUTPUT_TOKENS * 4e-6 > 0.0001
    answer = broker.llm_query("x" * 600)  # 200 tokens in: $0.0002 before any output
    assert "max-cost budget is used up" in answer
    assert provider.requests == []
