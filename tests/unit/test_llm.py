"""The LiteLLM client: Retry-After, backoff bounds, the deadline, what is retried, error text."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from rlm_cli.chat import Stop
from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.llm import LLMClient, Retry, RetryPolicy, _retry_after, error_text, litellm_module
from tests.fakes.provider import FakeProvider


class WithHeaders(Exception):
    def __init__(self, value: str) -> None:
        super().__init__("rate limited")
        self.litellm_response_headers = {"retry-after": value}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), ("0.25", 0.25), ("-3", 0.0), ("garbage", None), ("", None)],
)
def test_retry_after_values(value: str, expected: float | None) -> None:
    assert _retry_after(WithHeaders(value)) == expected


def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (_retry_after(WithHeaders(soon)) or 0) <= 31


def test_backoff_honours_retry_after_within_bounds() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=5)
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=60.0) == 10.0  # never more than twice the longest backoff
    assert 0 <= policy.delay(3, retry_after=None) <= 0.08


def test_a_deadline_stops_retries(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider.fail(status=503, retry_after=5, times=None)
    client = LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=10))
    litellm_module()  # its import takes seconds on a busy machine: not part of the call
    started = time.monotonic()
    with pytest.raises(ProviderError, match="no time left"):
        client.complete("openai/sub", [{"role": "user", "content": "q"}], deadline=time.monotonic() + 1.5)
    assert time.monotonic() - started < 3  # not the 5 s Retry-After, nor ten retries
    with pytest.raises(ProviderError, match="no time left"):
        client.complete("openai/sub", [{"role": "user", "content": "q"}], deadline=time.monotonic() - 1)


def test_a_real_price_of_zero_is_zero_and_no_price_is_unknown(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm_cli.llm import litellm_module

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    litellm_module().register_model({"openai/free-local-model": {
        "input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": "openai", "mode": "chat",
    }})
    client = LLMClient(api_base=provider.url)
    message = [{"role": "user", "content": "q"}]
    assert client.complete("openai/free-local-model", message).cost_usd == 0.0
    assert client.complete("openai/sub", message).cost_usd is None


@pytest.fixture
def client(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> LLMClient:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=3))


def test_every_retry_is_announced_with_its_reason_and_pause(provider: FakeProvider, client: LLMClient) -> None:
    provider.fail(status=429, retry_after=0.05, times=2)
    seen: list[Retry] = []
    assert client.complete("openai/sub", [{"role": "user", "content": "q"}], on_retry=seen.append).text
    assert [(r.model, r.reason, r.retry, r.max_retries) for r in seen] == [("openai/sub", "429", 1, 3), ("openai/sub", "429", 2, 3)]
    assert all(r.delay_s >= 0.05 and "fake failure 429" in r.error for r in seen)


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [(401, ConfigError, "auth"), (403, ConfigError, "auth"), (404, ConfigError, "not_found"), (400, ProviderError, "bad_request")],
)
def test_errors_no_retry_can_cure_are_raised_at_once(provider: FakeProvider, client: LLMClient, status: int, kind: type, reason: str) -> None:
    provider.fail(status=status, times=None)
    with pytest.raises(kind) as raised:
        client.complete("openai/sub", [{"role": "user", "content": "q"}])
    assert raised.value.reason == reason
    assert len(provider.requests) == 1


def test_a_bug_in_the_call_path_is_not_retried(provider: FakeProvider, client: LLMClient, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = litellm_module()
    calls: list[str] = []

    def broken(**kwargs: object) -> object:
        calls.append(str(kwargs["model"]))
        raise KeyError("choices")  # as a bug in building or reading a request would

    monkeypatch.setattr(litellm, "completion", broken)
    with pytest.raises(KeyError):
        client.complete("openai/sub", [{"role": "user", "content": "q"}])
    assert calls == ["openai/sub"]


def test_every_call_states_its_output_cap(provider: FakeProvider, client: LLMClient) -> None:
    client.complete("openai/sub", [{"role": "user", "content": "q"}])
    client.complete("openai/sub", [{"role": "user", "content": "q"}], max_output=300)
    assert [r.body.get("max_tokens") for r in provider.requests] == [client.max_output_tokens, 300]
    assert client.max_output("openai/gpt-4o-mini") == min(client.max_output_tokens, 16_384)  # the model's own cap


def test_provider_error_text_is_one_short_line_without_a_traceback() -> None:
    class APIConnectionError(Exception):
        pass

    raw = (
        "litellm.APIConnectionError: APIConnectionError: Ollama_chatException - Client error '404 Not Found'\n"
        "Traceback (most recent call last):\n  File \"/x/litellm/main.py\", line 3, in completion\n    raise e\n" + "x" * 400
    )
    text = error_text(APIConnectionError(raw))
    assert text == "Ollama_chatException - Client error '404 Not Found'"
    assert len(error_text(ValueError("y" * 1000))) == 200


def _when_requests(provider: FakeProvider, count: int, then: Callable[[], None]) -> threading.Thread:
    """Call `then` once `count` requests have reached the provider (checked as each arrives)."""

    def watch() -> None:
        with provider.arrived:
            provider.arrived.wait_for(lambda: len(provider.requests) >= count, timeout=20)
        then()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


@pytest.mark.parametrize("fault", [{"kind": "hang", "hang_s": 30}, {"status": 503, "retry_after": 30, "times": None}])
def test_a_stopped_run_abandons_its_call_in_flight_or_between_retries(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch, fault: dict[str, Any]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider.fail(**fault)
    client = LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=3))
    litellm_module()
    stop = Stop()
    watcher = _when_requests(provider, 1, stop.set)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        client.complete("openai/sub", [{"role": "user", "content": "q"}], stop=stop)
    watcher.join()
    assert raised.value.reason == "cancelled" and time.monotonic() - started < 15  # not the 30 s
    assert len(provider.requests) == 1  # no retry once stopped


def test_a_child_stop_follows_its_parent() -> None:
    parent = Stop()
    child, other = parent.child(), parent.child()
    child.set()  # a child ends alone...
    assert not parent.is_set() and not other.is_set()
    parent.set()  # ...and with its parent
    assert other.is_set() and parent.child().is_set()
