"""The response cache: what its key covers, what it keeps, and what a run sees of a hit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlm_cli.budget import Budget
from rlm_cli.chat import Completion
from rlm_cli.errors import ProviderError
from rlm_cli.events import Event, SubcallFinished
from rlm_cli.response_cache import CachedModel, ResponseCache, cache_key, keepable
from tests.fakes.chat import ScriptedModel
from tests.unit.test_broker import make_broker

ASK = [{"role": "user", "content": "what is alpha?"}]


@pytest.fixture
def cache(tmp_path: Path) -> ResponseCache:
    return ResponseCache(tmp_path / "responses", 1024**2)


def cached(model: ScriptedModel, cache: ResponseCache, options: dict[str, Any] | None = None, *, read: bool = True) -> CachedModel:
    return CachedModel(model, cache, lambda name: {"options": options or {}, "api_base": "http://a"}, read=read)


def test_the_key_changes_with_everything_that_changes_the_reply() -> None:
    base = cache_key("openai/sub", ASK, None, 100, {"options": {}, "api_base": "http://a"})
    assert base == cache_key("openai/sub", [dict(m) for m in ASK], None, 100, {"api_base": "http://a", "options": {}})
    variants = [
        cache_key("openai/other", ASK, None, 100, {"options": {}, "api_base": "http://a"}),
        cache_key("openai/sub", [{"role": "user", "content": "what is beta?"}], None, 100, {"options": {}, "api_base": "http://a"}),
        cache_key("openai/sub", ASK, [{"type": "function", "function": {"name": "grep"}}], 100, {"options": {}, "api_base": "http://a"}),
        cache_key("openai/sub", ASK, None, 200, {"options": {}, "api_base": "http://a"}),
        cache_key("openai/sub", ASK, None, 100, {"options": {"temperature": 0.2}, "api_base": "http://a"}),
        cache_key("openai/sub", ASK, None, 100, {"options": {}, "api_base": "http://b"}),
    ]
    assert len({base, *variants}) == 1 + len(variants)


def test_a_repeated_call_is_answered_from_the_cache_with_its_original_usage(cache: ResponseCache) -> None:
    model = ScriptedModel(sub=lambda request: "alpha is a letter")
    first = cached(model, cache).complete("openai/sub", ASK, max_output=100)
    again = cached(ScriptedModel(), ResponseCache(cache.directory, cache.size_limit)).complete("openai/sub", ASK, max_output=100)
    assert len(model.requests) == 1
    assert (again.text, again.prompt_tokens, again.completion_tokens, again.cost_usd) == (
        first.text, first.prompt_tokens, first.completion_tokens, first.cost_usd)
    assert again.from_cache and not first.from_cache
    cached(model, cache, {"temperature": 0.2}).complete("openai/sub", ASK, max_output=100)
    assert len(model.requests) == 2


def test_a_root_model_that_only_writes_always_calls(cache: ResponseCache) -> None:
    model = ScriptedModel(sub=lambda request: "alpha")
    for _ in range(2):
        cached(model, cache, read=False).complete("openai/sub", ASK)
    assert len(model.requests) == 2
    assert cached(model, cache).complete("openai/sub", ASK).from_cache  # a replay reads what it wrote


def test_failures_empty_and_cut_replies_are_not_kept(cache: ResponseCache) -> None:
    model = ScriptedModel(sub=lambda request: "")
    model.fail(ProviderError("openai/sub: 500", reason="500"))
    with pytest.raises(ProviderError):
        cached(model, cache).complete("openai/sub", ASK)
    cached(model, cache).complete("openai/sub", ASK)  # empty
    model.sub_rule = lambda request: {"content": "half a sent", "finish_reason": "length"}
    cached(model, cache).complete("openai/sub", ASK)
    assert cache.info().entries == 0 and len(model.requests) == 3
    assert keepable(Completion("", 1, 1, None, 0.0, [{"id": "1", "name": "grep", "arguments": "{}"}]))


def test_an_unusable_cache_is_a_miss_never_a_failed_call(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    broken = ResponseCache(tmp_path / "file" / "responses", 1024)
    model = ScriptedModel(sub=lambda request: "alpha")
    assert cached(model, broken).complete("openai/sub", ASK).text == "alpha"
    assert broken.error is not None


def test_the_cap_evicts_the_least_recently_used(tmp_path: Path) -> None:
    small = ResponseCache(tmp_path / "responses", 64 * 1024)
    model = ScriptedModel(sub=lambda request: "x" * 4000)
    for number in range(60):
        cached(model, small).complete("openai/sub", [{"role": "user", "content": f"q{number}"}])
    assert small.info().size <= 64 * 1024 * 2 and small.info().entries < 60


def test_a_hit_is_a_finished_sub_call_marked_cached_and_spends_nothing(cache: ResponseCache) -> None:
    model = ScriptedModel(sub=lambda request: "alpha is a letter")
    events: list[Event] = []
    first = make_broker(cached(model, cache), events)  # type: ignore[arg-type]
    assert first.llm_query("what is alpha?") == "alpha is a letter"
    events.clear()
    second = make_broker(cached(model, cache), events)  # type: ignore[arg-type]
    assert second.llm_query("what is alpha?") == "alpha is a letter"
    finished = [e for e in events if isinstance(e, SubcallFinished)]
    assert len(model.requests) == 1
    assert [e.from_cache for e in finished] == [True] and finished[0].prompt_tokens > 0
    budget: Budget = second.budget
    assert budget.cost == 0.0 and budget.snapshot()["cached"]["calls"] == 1
