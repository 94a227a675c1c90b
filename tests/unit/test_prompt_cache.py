"""Provider prompt caching: cache points on the root model's prefix, cached input tokens read back."""

from __future__ import annotations

import pytest

from rlm_cli.chat import Message
from rlm_cli.llm import LLMClient
from rlm_cli.prompt_cache import EPHEMERAL, PromptCaching, with_cache_points
from tests.fakes.provider import FakeProvider, Request

CONVERSATION: list[Message] = [
    {"role": "system", "content": "You have a persistent Python REPL. " * 20},
    {"role": "user", "content": "The input: 3 files."},
    {"role": "assistant", "content": "```repl\nprint(1)\n```"},
    {"role": "user", "content": "Output: 1"},
]


def half_cached(request: Request) -> int:
    """Turns after the first read half their prompt from the cache."""
    return request.prompt_chars // 8 if request.turn else 0


def test_the_system_prompt_and_the_newest_message_are_marked_and_nothing_else_changes() -> None:
    original = [dict(m) for m in CONVERSATION]
    marked = with_cache_points(CONVERSATION)
    assert original == CONVERSATION  # a copy: the engine's history is untouched
    assert [isinstance(m["content"], list) for m in marked] == [True, False, False, True]
    for index in (0, -1):
        assert marked[index]["content"] == [{"type": "text", "text": CONVERSATION[index]["content"], "cache_control": EPHEMERAL}]
    tool_turn: list[Message] = [{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}]
    assert with_cache_points(tool_turn) == tool_turn  # no text to mark


def test_only_models_that_need_marks_get_them() -> None:
    client = LLMClient()
    assert client.caches_prompts("anthropic/claude-sonnet-4-5")
    assert client.caches_prompts("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert not client.caches_prompts("openai/gpt-5-mini")  # OpenAI caches on its own
    assert not client.caches_prompts("openai/root")


def test_a_request_to_an_anthropic_model_carries_cache_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    with FakeProvider(api="anthropic", prompt_cache=half_cached) as server:
        server.root_script = ["fine"] * 4
        client = LLMClient(api_base=server.url)
        completion = PromptCaching(client, client.caches_prompts).complete("anthropic/claude-sonnet-4-5", CONVERSATION)
        body = server.requests[0].body
    assert body["system"][-1]["cache_control"] == EPHEMERAL
    assert body["messages"][-1]["content"][-1]["cache_control"] == EPHEMERAL
    assert all("cache_control" not in str(m) for m in body["messages"][:-1])
    assert completion.text == "fine"
    assert completion.cached_input_tokens == server.requests[0].prompt_chars // 8 > 0


def test_openai_cached_tokens_are_read_from_the_usage_and_priced_lower(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider.root_script = ["fine"] * 4
    client = LLMClient(api_base=provider.url)
    fresh = client.complete("openai/gpt-4o", CONVERSATION)
    provider.prompt_cache = half_cached
    cached = client.complete("openai/gpt-4o", CONVERSATION)
    assert fresh.cached_input_tokens == 0
    assert cached.cached_input_tokens == provider.requests[1].prompt_chars // 8 > 0
    assert cached.prompt_tokens == fresh.prompt_tokens
    assert cached.cost_usd is not None and fresh.cost_usd is not None and cached.cost_usd < fresh.cost_usd
    assert "cache_control" not in str(provider.requests[1].body["messages"])
