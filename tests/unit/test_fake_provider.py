"""The fake provider behaves like an OpenAI-compatible server when reached through LiteLLM."""

from __future__ import annotations

import threading
import time

import pytest

from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.llm import LLMClient, RetryPolicy, litellm_module
from tests.fakes.provider import FakeProvider, Request, code

ROOT_SYSTEM = "The input is loaded into a persistent Python REPL."


@pytest.fixture
def client(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> LLMClient:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=3))


def test_root_turns_are_chosen_from_the_request(provider: FakeProvider, client: LLMClient) -> None:
    provider.root_script = [code("print(1)"), "second turn"]
    first = [{"role": "system", "content": ROOT_SYSTEM}, {"role": "user", "content": "q"}]
    assert client.complete("openai/root", first).text == code("print(1)")
    second = [*first, {"role": "assistant", "content": "x"}, {"role": "user", "content": "out"}]
    assert client.complete("openai/root", second).text == "second turn"
    # Stateless: asking the first turn again gives the first reply again.
    assert client.complete("openai/root", first).text == code("print(1)")


def test_sub_calls_follow_rules_and_report_usage(provider: FakeProvider, client: LLMClient) -> None:
    provider.sub_rule = lambda request: f"len={len(request.last_user)}"
    reply = client.complete("openai/sub", [{"role": "user", "content": "x" * 400}])
    assert reply.text == "len=400"
    assert reply.prompt_tokens == 100 and reply.completion_tokens >= 1
    recorded = provider.requests[-1]
    assert recorded.model == "sub" and recorded.message_sizes == [400]


def test_streaming_through_litellm(provider: FakeProvider) -> None:
    provider.sub_rule = lambda request: "streamed " * 10
    litellm = litellm_module()
    chunks = litellm.completion(
        model="openai/sub", api_base=provider.url, api_key="sk-test", stream=True,
        messages=[{"role": "user", "content": "hi"}],
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == "streamed " * 10
    assert provider.requests[-1].stream is True


def test_rate_limits_are_retried_honouring_retry_after(provider: FakeProvider, client: LLMClient) -> None:
    provider.fail(status=429, retry_after=0.3, times=2)
    started = time.monotonic()
    assert client.complete("openai/sub", [{"role": "user", "content": "q"}]).text
    assert time.monotonic() - started >= 0.6
    assert [r.status for r in provider.requests] == [429, 429, 200]


@pytest.mark.parametrize("kind", ["malformed", "reset"])
def test_broken_responses_are_retried(provider: FakeProvider, client: LLMClient, kind: str) -> None:
    provider.fail(kind)
    assert client.complete("openai/sub", [{"role": "user", "content": "q"}]).text
    assert len(provider.requests) == 2


def test_a_hung_provider_holds_a_call_no_longer_than_request_timeout(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    client = LLMClient(api_base=provider.url, request_timeout=0.5, retry=RetryPolicy(base_delay=0.01, max_retries=6))
    litellm_module()
    provider.fail("hang", hang_s=3, times=None)
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"timed out.*no time left within request_timeout"):
        client.complete("openai/sub", [{"role": "user", "content": "q"}])
    assert time.monotonic() - started < 1.5  # not 7 attempts of 0.5 s each
    assert len(provider.requests) == 1


def test_permanent_5xx_gives_up_with_provider_error(provider: FakeProvider, client: LLMClient) -> None:
    provider.fail(status=500, times=None)
    with pytest.raises(ProviderError, match="gave up after 4 attempts"):
        client.complete("openai/sub", [{"role": "user", "content": "q"}])


def test_401_is_not_retried(provider: FakeProvider, client: LLMClient) -> None:
    provider.fail(status=401)
    with pytest.raises(ConfigError):
        client.complete("openai/sub", [{"role": "user", "content": "q"}])
    assert len(provider.requests) == 1


def test_records_in_flight_requests(provider: FakeProvider, client: LLMClient) -> None:
    provider.overlap = 4
    threads = [threading.Thread(target=client.complete, args=("openai/sub", [{"role": "user", "content": "q"}])) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert provider.max_in_flight == 4
    assert all(isinstance(r, Request) and r.finished and r.finished >= r.started for r in provider.requests)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMClient().check_keys(["openai/gpt-4o-mini"])
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        LLMClient().check_keys(["anthropic/claude-sonnet-4-5"])
