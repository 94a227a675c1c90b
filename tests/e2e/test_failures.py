"""End to end: failed and empty replies stop a run, retries show, budgets hold, --estimate spends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import FAST_RETRIES, model_flags, rlm
from tests.fakes.provider import FakeProvider, code, script


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Three small log files."""
    root = tmp_path / "logs"
    root.mkdir()
    for day in range(3):
        (root / f"day{day}.log").write_text("".join(f"INFO 0{day}:{m:02d} served\n" for m in range(60)), encoding="utf-8")
    return root


def test_sub_calls_all_refused_the_key_stop_the_run_within_one_batch(provider: FakeProvider, logs: Path) -> None:
    provider.fail(status=401, times=None, models=("sub",))
    provider.root_script = script(code("answer['content'] = 'draft'", "print(llm_batch(['x'] * 31))"), after=code("print(llm_batch(['y'] * 31))"))
    done = rlm(["ask", str(logs), "q?", "--json", *model_flags(provider)], env=FAST_RETRIES)
    assert done.returncode == 4, done.stderr
    result = json.loads(done.stdout)
    assert result["stopped_by"] == "error" and result["answer"] == "draft"
    assert "refused the API key" in result["error"] and "\n" not in result["error"]
    assert len(provider.root_requests()) == 1  # no further turn
    subs = provider.sub_requests()
    assert 8 <= len(subs) < 31 and all(r.status == 401 for r in subs)  # one wave of the batch, never retried
    assert "rlm: error: openai/sub: the provider refused the API key" in done.stderr


def test_sub_calls_all_failing_with_500_stop_after_their_retries(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    provider.fail(status=500, times=None, models=("sub",))
    provider.root_script = script(code("answer['content'] = 'draft'", "print(llm_batch(['a', 'b', 'c', 'd']))"))
    trace = tmp_path / "trace.jsonl"
    done = rlm(["ask", str(logs), "q?", "--json", "--trace", str(trace), "--progress", "plain", *model_flags(provider)],
               env={**FAST_RETRIES, "RLM_MAX_RETRIES": "2"})
    assert done.returncode == 5, done.stderr
    result = json.loads(done.stdout)
    assert result["stopped_by"] == "error" and "gave up after 3 attempts" in result["error"]
    assert result["answer"] == "draft"
    assert len(provider.root_requests()) == 1
    assert len(provider.sub_requests()) == 4 * 3  # each call tried three times, then the run stopped
    assert "500 from openai/sub, retry 2/2 in " in done.stderr  # the plain progress lines
    retried = [e for e in map(json.loads, trace.read_text().splitlines()) if e["event"] == "CallRetried"]
    assert len(retried) == 4 * 2 and {(e["model"], e["reason"]) for e in retried} == {("openai/sub", "500")}
    assert all(e["call_id"] for e in retried)


def test_one_llm_query_that_cannot_succeed_stops_the_run(provider: FakeProvider, logs: Path) -> None:
    provider.fail(status=404, times=None, models=("sub",))
    provider.root_script = script(code("answer['content'] = 'draft'", "print(llm_query('hi'))"))
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)], env=FAST_RETRIES)
    assert done.returncode == 4, done.stderr
    assert done.stdout == "draft\n"  # the partial answer is kept and printed
    assert "unknown model or endpoint" in done.stderr and "hint: check the model name" in done.stderr
    assert (len(provider.root_requests()), len(provider.sub_requests())) == (1, 1)


def test_a_root_call_is_retried_visibly(provider: FakeProvider, logs: Path) -> None:
    provider.fail(status=429, retry_after=0.01, times=2, models=("root",))
    provider.root_script = script(code("print(1)"), code("FINAL('fine')"))
    done = rlm(["ask", str(logs), "q?", "--progress", "plain", *model_flags(provider)], env=FAST_RETRIES)
    assert done.returncode == 0 and done.stdout == "fine\n"
    assert "429 from openai/root, retry 1/6 in " in done.stderr and "retry 2/6" in done.stderr


def test_empty_replies_are_flagged_then_end_the_run(provider: FakeProvider, logs: Path) -> None:
    provider.sub_rule = lambda request: ""
    provider.root_script = script(code("answer['content'] = 'draft'", "print(llm_batch(['a', 'b', 'c', 'd']))"))
    done = rlm(["ask", str(logs), "q?", "--concurrency", "1", *model_flags(provider)])
    assert done.returncode == 5, done.stderr
    assert done.stderr.count("warning: openai/sub returned an empty reply") == 1
    assert "provider prefix or --api-base may be wrong" in done.stderr
    assert "rlm: error: openai/sub returned 3 empty replies in a row" in done.stderr
    assert len(provider.sub_requests()) == 3 and len(provider.root_requests()) == 1
    assert done.stdout == "draft\n"


def test_a_root_model_that_answers_nothing_ends_the_run(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(after="")
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)])
    assert done.returncode == 5
    assert "openai/root returned 3 empty replies in a row" in done.stderr
    assert len(provider.root_requests()) == 3


def test_a_bug_in_our_call_path_is_not_retried_and_is_an_internal_error(provider: FakeProvider, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rlm_cli.llm
    from rlm_cli.api import ask

    real = rlm_cli.llm._to_completion

    def broken(litellm: object, response: object, latency: float, deployment: str | None = None) -> object:
        if getattr(response, "model", "") == "sub":
            raise TypeError("'NoneType' object is not subscriptable")
        return real(litellm, response, latency, deployment)

    monkeypatch.setattr(rlm_cli.llm, "_to_completion", broken)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider.root_script = script(code("answer['content'] = 'draft'", "print(llm_batch(['a', 'b']))"))
    result = ask("q?", [str(logs)], model="openai/root", sub_model="openai/sub", api_base=provider.url, sandbox="process", trace=False)
    assert result.exit_code == 1 and result.stopped_by == "error"
    assert result.error and result.error.startswith("internal error: TypeError")
    assert result.answer == "draft"
    assert len(provider.sub_requests()) == 2 and len(provider.root_requests()) == 1  # no retries, no more turns


def test_estimate_prints_what_a_run_would_read_and_cost_without_calling_a_model(provider: FakeProvider, logs: Path, isolated_env: Path) -> None:
    done = rlm(["ask", str(logs), "q?", "--estimate", *model_flags(provider)], env={"OPENAI_API_KEY": ""})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    size = sum(p.stat().st_size for p in logs.iterdir())
    assert lines[0].startswith(f"input: 3 documents, {size:,} bytes, ")
    assert "tokens (estimated: LiteLLM has no tokenizer for openai/sub)" in lines[0]
    assert lines[1].startswith("one root turn (openai/root): ") and "cost unknown" in lines[1]
    assert lines[2].startswith("reading the whole input once (openai/sub): ")
    priced = rlm(["ask", str(logs), "q?", "--estimate", "--json", "-m", "openai/gpt-4o-mini", "--api-base", provider.url])
    figures = json.loads(priced.stdout)
    assert (figures["documents"], figures["bytes"], figures["input"]["by"]) == (3, size, "tokenizer")
    assert 0 < figures["root_turn_cost_usd"] < figures["root_turn_max_cost_usd"] and figures["read_cost_usd"] > 0
    assert figures["input"]["tokens"] < figures["chars"] / 2
    assert provider.requests == []  # nothing was sent
    assert not (isolated_env / "state" / "rlm" / "runs").exists()  # and no run recorded
