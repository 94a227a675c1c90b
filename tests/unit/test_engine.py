"""The engine with a scripted root model: the order of its events and how turns are fed back."""

from __future__ import annotations

import threading

import pytest

from rlm_cli.broker import Broker, SubcallSettings
from rlm_cli.budget import Budget, Limits
from rlm_cli.engine import AnswerReview, Engine, EngineConfig
from rlm_cli.events import AnswerUpdated, Event
from rlm_cli.failures import Failures
from rlm_cli.llm import LLMClient, RetryPolicy
from rlm_cli.sandbox import Sandbox, SandboxConfig
from tests.fakes.provider import FakeProvider, code, script


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def run(provider: FakeProvider, limits: Limits, review: AnswerReview | None = None) -> tuple[object, list[Event]]:
    events: list[Event] = []
    llm = LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=1))
    budget = Budget(limits)
    failures = Failures()  # one policy for the run's broker and engine
    config = EngineConfig(model="openai/root", sub_model="openai/sub", max_depth=1, output_limit=2_000,
                          root_window_tokens=100_000, sub_window_tokens=100_000, concurrency=4)
    broker = Broker(run_id="r", llm=llm, settings=SubcallSettings("openai/sub", 100_000, False), budget=budget,
                    gate=threading.BoundedSemaphore(4), concurrency=4, emit=events.append, failures=failures)
    engine = Engine(llm=llm, config=config, budget=budget, emit=events.append, run_id="r", failures=failures, review=review)
    with Sandbox(SandboxConfig(mode="none"), broker) as sandbox:
        outcome = engine.run("what?", sandbox, description="(a description)", input_summary={}, sources=[])
    return outcome, events


def test_events_follow_the_turns(provider: FakeProvider) -> None:
    provider.root_script = script(code("x = llm_batch(['a', 'b'])", "print(x)"), code("FINAL('done')"))
    outcome, events = run(provider, Limits())
    names = [type(e).__name__ for e in events]
    assert names[:4] == ["RunStarted", "TurnStarted", "ModelReplied", "CellStarted"]
    assert names.count("SubcallFinished") == 2 and names.index("BatchFinished") < names.index("CellExecuted")
    assert names[-2:] == ["AnswerUpdated", "RunFinished"]
    assert (outcome.answer, outcome.ready, outcome.stopped_by, outcome.iterations) == ("done", True, "answer", 2)
    fed_back = provider.root_requests()[1].last_user
    assert "sub-answer to 1 chars" in fed_back and "[turn 1 of 30; 29 left" in fed_back


def test_the_root_prompt_holds_the_description_not_the_input(provider: FakeProvider) -> None:
    provider.root_script = script(code("print(1)"), code("FINAL('ok')"))
    run(provider, Limits())
    first = provider.root_requests()[0]
    assert "(a description)" in first.messages[1]["content"] and "what?" in first.messages[1]["content"]
    assert "llm_batch" in first.system


def test_the_iteration_limit_asks_once_for_the_best_answer(provider: FakeProvider) -> None:
    provider.root_script = script(code("answer['content'] = 'draft'"), on_limit="best guess")
    outcome, _ = run(provider, Limits(max_iterations=2))
    assert (outcome.answer, outcome.ready, outcome.stopped_by) == ("best guess", False, "max_iterations")
    last = provider.root_requests()[-1].last_user
    assert "must stop now" in last and "draft" in last


def test_prose_final_of_a_variable_the_code_just_set_is_accepted_that_turn(provider: FakeProvider) -> None:
    provider.root_script = script(
        code("print(len(context))"),
        "Now the tally.\n```python\n# the sub-LLM may answer in a ``` block\ntally = 'three ```fences```'\n```\n\nFINAL_VAR(tally)",
    )
    outcome, _ = run(provider, Limits())
    assert (outcome.answer, outcome.ready, outcome.iterations) == ("three ```fences```", True, 2)


def test_a_literal_prose_final_next_to_code_needs_the_output_to_bear_it_out(provider: FakeProvider) -> None:
    provider.root_script = script(
        code("print(len(context))"),
        "```python\nprint(6 * 7)\n```\nThe product is 42.\nFINAL(42)",  # the output shows 42: accepted
    )
    outcome, _ = run(provider, Limits())
    assert (outcome.answer, outcome.iterations) == ("42", 2)
    provider.requests.clear()
    provider.root_script = script(
        code("print(len(context))"),
        "```python\nprint(6 * 9)\n```\nFINAL(42)",  # made up: the output says 54
        "FINAL(54)",
    )
    outcome, _ = run(provider, Limits())
    assert (outcome.answer, outcome.iterations) == ("54", 3)
    asked = provider.root_requests()[2].last_user
    assert asked.startswith("54\n") and "FINAL(42) was not accepted" in asked


def test_prose_final_of_a_bound_name_gives_its_value(provider: FakeProvider) -> None:
    provider.root_script = script(code("president = 'Polk'", "print(president)"), "The REPL confirms it.\n\nFINAL(president)")
    outcome, _ = run(provider, Limits())
    assert (outcome.answer, outcome.ready) == ("Polk", True)


def test_a_reply_cut_inside_a_block_runs_what_is_complete_and_says_so(provider: FakeProvider) -> None:
    provider.root_script = script("```python\nkept = 1\nprint('ran')\nlost = llm_query('unfinished", code("FINAL(str(kept))"))
    outcome, _ = run(provider, Limits())
    fed_back = provider.root_requests()[1].last_user
    assert fed_back.startswith("ran\n") and "unclosed code block" in fed_back and "last 1 line(s), an unfinished statement, did not run" in fed_back
    assert outcome.answer == "1"


def test_the_reasoning_field_never_runs(provider: FakeProvider) -> None:
    provider.root_script = script(
        {"content": "```python\nprint('seen')\n```", "reasoning_content": "```python\nFINAL('from reasoning')\n```"},
        "<think>FINAL(wrong)</think>\n```python\nFINAL('checked')\n```",
    )
    outcome, events = run(provider, Limits())
    assert (outcome.answer, outcome.iterations) == ("checked", 2)
    cells = [e for e in events if type(e).__name__ == "CellStarted"]
    assert [c.code for c in cells] == ["print('seen')", "FINAL('checked')"]  # type: ignore[attr-defined]


def test_sub_calls_that_all_fail_end_the_run_after_the_cell(provider: FakeProvider) -> None:
    provider.fail(status=403, times=None, models=("sub",))
    provider.root_script = script(code("answer['content'] = 'draft'", "x = llm_batch(['a', 'b'])"), code("print('never')"))
    outcome, events = run(provider, Limits())
    assert (outcome.stopped_by, outcome.answer, outcome.iterations) == ("error", "draft", 1)
    assert outcome.failure is not None and "refused the API key" in str(outcome.error)
    assert len(provider.root_requests()) == 1
    assert type(events[-1]).__name__ == "RunFinished"


class Review:
    """Asks for one repair while the answer cites `a.py:9`; settles by marking the answer."""

    def repair_request(self, answer: str) -> str | None:
        return "fix a.py:9" if "a.py:9" in answer else None

    def settle(self, answer: str) -> str:
        return answer + " [checked]"


@pytest.mark.parametrize(("repair", "answer"), [
    (code("FINAL('see a.py:10')"), "see a.py:10"),  # repaired in its one turn
    (code("print('looking again')"), "see a.py:9"),  # not ready again: the first answer stands
])
def test_one_repair_turn_when_the_review_finds_the_answer_wanting(provider: FakeProvider, repair: str, answer: str) -> None:
    provider.root_script = script(code("print(1)"), code("FINAL('see a.py:9')"), repair)
    outcome, events = run(provider, Limits(), Review())
    assert (outcome.answer, outcome.ready, outcome.stopped_by) == (answer + " [checked]", True, "answer")
    assert len(provider.root_requests()) == 3
    assert provider.root_requests()[2].last_user == "fix a.py:9"
    last = [e for e in events if isinstance(e, AnswerUpdated)][-1]
    assert (last.content, last.ready) == (answer, True)


def test_no_repair_turn_past_the_turn_limit(provider: FakeProvider) -> None:
    provider.root_script = script(code("print(1)"), code("FINAL('see a.py:9')"))
    outcome, _ = run(provider, Limits(max_iterations=2), Review())
    assert (outcome.answer, outcome.stopped_by, len(provider.root_requests())) == ("see a.py:9 [checked]", "answer", 2)
