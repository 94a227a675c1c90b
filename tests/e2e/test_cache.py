"""End to end: the response cache answers a repeated run's sub-calls, across runs and processes."""

from __future__ import annotations

import json
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import model_flags, rlm
from tests.fakes.provider import FakeProvider, Request, code, script

PROMPTS = 4  # sub-calls one run makes


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("alpha\nbeta\ngamma\ndelta\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def fanout(provider: FakeProvider) -> FakeProvider:
    """A run that asks the sub-model about each line, then answers with what it said."""
    provider.sub_rule = lambda request: f"seen {request.last_user.split()[-1]}"
    provider.root_script = script(
        code("found = llm_batch([f'what is {line}' for line in context.splitlines()])", "print(found)"),
        code("FINAL(' / '.join(found))"),
    )
    return provider


def ask(provider: FakeProvider, cwd: Path, *extra: str) -> dict[str, Any]:
    done = rlm(["ask", "notes.txt", "what is in it?", "--json", *model_flags(provider), *extra], cwd=cwd)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["answer"] == "seen alpha / seen beta / seen gamma / seen delta"
    return result


def info() -> dict[str, Any]:
    done = rlm(["cache", "info", "--json"], cwd=None)
    assert done.returncode == 0, done.stderr
    value: dict[str, Any] = json.loads(done.stdout)
    return value


def test_a_repeated_run_makes_no_sub_call_and_reports_what_the_cache_saved(fanout: FakeProvider, notes: Path) -> None:
    first = ask(fanout, notes)
    assert len(fanout.sub_requests()) == PROMPTS
    assert first["usage"]["cached"]["calls"] == 0
    spent = first["usage"]["sub"]

    second = ask(fanout, notes)
    assert len(fanout.sub_requests()) == PROMPTS  # not one more: every sub-call came from the cache
    assert len(fanout.root_requests()) == 4  # the root model is asked again in a normal run
    assert second["sub_calls"] == PROMPTS
    saved = second["usage"]["cached"]
    assert saved["calls"] == PROMPTS
    assert (saved["prompt_tokens"], saved["completion_tokens"]) == (spent["prompt_tokens"], spent["completion_tokens"])
    assert second["usage"]["sub"]["prompt_tokens"] == 0  # nothing was spent on them

    shown = rlm(["show", "last", "--json"], cwd=notes)  # the trace keeps the hits: `rlm show` replays them
    assert json.loads(shown.stdout)["usage"]["cached"] == saved
    assert f"{PROMPTS} cached calls saved" in shown.stderr
    tree = rlm(["replay", "last", "-v"], cwd=notes, env={"COLUMNS": "200"}).stdout
    assert tree.count("cached ·") == PROMPTS and f"{PROMPTS} cached calls saved" in tree


def test_no_cache_calls_the_model_again(fanout: FakeProvider, notes: Path) -> None:
    ask(fanout, notes)
    again = ask(fanout, notes, "--no-cache")
    assert len(fanout.sub_requests()) == 2 * PROMPTS
    assert again["usage"]["cached"]["calls"] == 0


def test_the_key_covers_the_model_options(fanout: FakeProvider, notes: Path) -> None:
    ask(fanout, notes)
    ask(fanout, notes, "-o", "temperature", "0.3")
    assert len(fanout.sub_requests()) == 2 * PROMPTS
    assert {r.body.get("temperature") for r in fanout.sub_requests()[PROMPTS:]} == {0.3}


def test_a_failed_or_empty_reply_is_never_kept(fanout: FakeProvider, notes: Path) -> None:
    fanout.sub_rule = lambda request: "" if "alpha" in request.last_user else f"seen {request.last_user.split()[-1]}"
    fanout.fail(status=400, models=("sub",), times=1, skip=1)  # the second (beta) fails for good
    for _ in range(2):
        done = rlm(["ask", "notes.txt", "what?", "--json", "--concurrency", "1", *model_flags(fanout)], cwd=notes)
        assert done.returncode == 0, done.stderr
    # The second run asked again for the empty reply and the failed one, and no other.
    assert [r.last_user for r in fanout.sub_requests()[PROMPTS:]] == ["what is alpha", "what is beta"]


def test_cache_info_and_clear(fanout: FakeProvider, notes: Path, isolated_env: Path) -> None:
    ask(fanout, notes)
    shown = info()
    assert shown["path"] == str(isolated_env / "cache" / "rlm" / "responses")
    assert shown["entries"] >= PROMPTS and shown["size"] > 0 and shown["cap"] == 512 * 1024**2
    assert rlm(["cache", "info", "--json"], cwd=None, env={"RLM_CACHE_SIZE": "1G"}).stdout.count(str(1024**3)) == 1
    cleared = rlm(["cache", "clear"], cwd=None)
    assert cleared.returncode == 0 and f"removed {shown['entries']} cached replies" in cleared.stderr
    assert info()["entries"] == 0
    ask(fanout, notes)
    assert len(fanout.sub_requests()) == 2 * PROMPTS


def test_two_runs_at_once_share_the_cache(fanout: FakeProvider, notes: Path, isolated_env: Path) -> None:
    both = 2 * PROMPTS
    arrived = fanout.arrived

    def answer_when_both_runs_asked(request: Request) -> str:
        with arrived:  # hold every sub-call until both runs' are in flight: they write at once
            assert arrived.wait_for(lambda: len(fanout.sub_requests()) >= both, timeout=30)
        return f"seen {request.last_user.split()[-1]}"

    fanout.sub_rule = answer_when_both_runs_asked
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(ask, fanout, notes) for _ in range(2)]
        results = [run.result(timeout=90) for run in runs]
    assert len(fanout.sub_requests()) == both
    assert all(result["usage"]["cached"]["calls"] == 0 for result in results)

    third = ask(fanout, notes)  # what both wrote is whole: a third run is answered from it
    assert third["usage"]["cached"]["calls"] == PROMPTS
    assert len(fanout.sub_requests()) == both
    assert _consistent(isolated_env / "cache" / "rlm" / "responses")


def _consistent(directory: Path) -> bool:
    """diskcache's own check of its database and files: no warning."""
    import warnings

    import diskcache

    with warnings.catch_warnings(record=True) as caught, diskcache.Cache(str(directory)) as cache:
        warnings.simplefilter("always")
        cache.check()
    return not caught


def test_a_second_run_on_an_unchanged_tree_reuses_its_ingest_and_says_so(provider: FakeProvider, tmp_path: Path) -> None:
    tree = Path(sysconfig.get_paths()["stdlib"]) / "json"  # files older than any test: settled
    provider.root_script = script(code("print(len(context.files), context.read('decoder.py')[:40])"), code("FINAL('ok')"))
    runs = [rlm(["ask", str(tree), "q?", "--json", *model_flags(provider), *extra], cwd=tmp_path) for extra in ([], [], ["--no-cache"])]
    assert all(done.returncode == 0 for done in runs), runs[-1].stderr
    documents = json.loads(runs[1].stdout)["input"]["documents"]
    assert "reused ingest" not in runs[0].stderr + runs[2].stderr
    assert f"reused ingest of {documents} files (unchanged since an earlier run)" in runs[1].stderr
    # What the model saw of the input is the same either way.
    seen = [r.last_user for r in provider.root_requests() if r.turn == 1]
    assert len(seen) == 3 and len(set(seen)) == 1 and "JSON" in seen[0]


def test_the_root_models_prefix_is_marked_for_the_provider_cache_and_cached_input_is_priced_lower(notes: Path) -> None:
    claude = "anthropic/claude-sonnet-4-5"
    with FakeProvider(api="anthropic", prompt_cache=lambda request: request.prompt_chars // 8 if request.turn else 0) as server:
        server.root_script = script(code("print(len(context))"), code("FINAL('ok')"))
        done = rlm(["ask", "notes.txt", "q?", "--json", "-m", claude, "--api-base", server.url], cwd=notes,
                   env={"ANTHROPIC_API_KEY": "sk-ant-test"})
        assert done.returncode == 0, done.stderr
        roots = server.root_requests()
    assert len(roots) == 2
    for request in roots:
        assert request.body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert request.body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    root = json.loads(done.stdout)["usage"]["root"]
    assert root["cached_input_tokens"] == roots[1].prompt_chars // 8 > 0
    full_price = root["prompt_tokens"] * 3e-6 + root["completion_tokens"] * 15e-6  # claude-sonnet-4-5, no cache
    assert root["cost_usd"] < full_price


def test_a_cache_directory_that_cannot_be_used_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    done = rlm(["cache", "info"], cwd=tmp_path, env={"RLM_CACHE_DIR": str(tmp_path / "file" / "cache")})
    assert done.returncode == 4
    assert done.stderr.startswith("rlm: error: cannot open the response cache in ") and "Traceback" not in done.stderr
