"""Adaptive concurrency end to end: a batch through the real LiteLLM client against a provider that
answers 429 to any request above 8 in flight."""

from __future__ import annotations

import pytest

from rlm_cli.broker import Broker, SubcallSettings
from rlm_cli.budget import Budget, Limits
from rlm_cli.concurrency import AdaptiveLimit
from rlm_cli.events import CallRetried, ConcurrencyChanged, Event, SubcallFinished
from rlm_cli.failures import Failures
from rlm_cli.llm import LLMClient, RetryPolicy
from tests.fakes.provider import FakeProvider


def test_a_batch_backs_off_to_what_the_provider_takes_and_no_item_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    events: list[Event] = []
    with FakeProvider(sub_latency=0.15, max_concurrent=8, sub_rule=lambda request: request.last_user.upper()) as provider:
        gate = AdaptiveLimit(32, on_change=lambda limit, why: events.append(ConcurrencyChanged("r1", limit=limit, maximum=32, reason=why)))
        broker = Broker(
            run_id="r1", llm=LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_delay=0.05)),
            settings=SubcallSettings(sub_model="openai/sub", sub_window_tokens=100_000, can_recurse=False),
            budget=Budget(Limits()), gate=gate, concurrency=32, emit=events.append, failures=Failures(),
        )
        answers = broker.llm_batch([f"item {i}" for i in range(100)])
        broker.stop()
    assert answers == [f"ITEM {i}" for i in range(100)]
    finished = [e for e in events if isinstance(e, SubcallFinished)]
    assert len(finished) == 100 and not [e for e in finished if e.error]
    assert not [e for e in events if isinstance(e, CallRetried)]  # a 429 that lowered the limit is no retry
    trace = gate.trace()
    limits = [e.limit for e in events if isinstance(e, ConcurrencyChanged)]
    print("limit trace:", trace, "changes:", limits)
    assert trace.backoffs >= 1 and limits[0] < 32
    assert 4 <= trace.limit_final <= 9  # settled near the 8 the provider takes
    assert trace.limit_min >= 3
    throttled = [r for r in provider.requests if r.status == 429]
    assert len(throttled) < 50  # no hammering: a fixed 32 in flight would draw three 429s per success
    assert max(r.in_flight for r in provider.requests if r.status == 200) <= 8
