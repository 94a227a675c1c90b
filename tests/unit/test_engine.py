"""The engine with a scripted root model (in-process, no HTTP): events, turns, FINAL, limits, ends."""

from __future__ import annotations

import time

import pytest

from rlm_cli import prompts
from rlm_cli.broker import Broker, SubcallSettings
from rlm_cli.budget import Budget, Limits
from rlm_cli.chat import ChatModel, Stop
from rlm_cli.concurrency import AdaptiveLimit
from rlm_cli.engine import AnswerReview, Engine, EngineConfig, RunOutcome
from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.events import AnswerUpdated, Event, RunFinished
from rlm_cli.failures import Failures
from rlm_cli.llm import LLMClient, RetryPolicy
from rlm_cli.sandbox import Sandbox, SandboxConfig
from tests.fakes.chat import ScriptedModel
from tests.fakes.provider import FakeProvider, Reply, Request, code, script


def run(
    model: ChatModel, limits: Limits, *, stop: Stop | None = None, emit: list[Event] | None = None,
    review: AnswerReview | None = None,
) -> tuple[RunOutcome, list[Event]]:
    events: list[Event] = [] if emit is None else emit
    budget = Budget(limits)
    failures = Failures()  # one policy for the run's broker and engine
    stop = stop or Stop()  # one signal for the run's broker and engine
    config = EngineConfig(model="openai/root", sub_model="openai/sub", max_depth=1, output_limit=2_000,
                          root_window_tokens=100_000, sub_window_tokens=100_000, concurrency=4)
    broker = Broker(run_id="r", llm=model, settings=SubcallSettings("openai/sub", 100_000, False), budget=budget,
                    gate=AdaptiveLimit(4), concurrency=4, emit=events.append, failures=failures, stop=stop)
    engine = Engine(llm=model, config=config, budget=budget, emit=events.append, run_id="r", failures=failures, stop=stop, review=review)
    try:
        with Sandbox(SandboxConfig(mode="none"), broker) as sandbox:
            outcome = engine.run("what?", sandbox, description="(a description)", input_summary={}, sources=[])
    finally:
        broker.stop()
    return outcome, events


def test_events_follow_the_turns(model: ScriptedModel) -> None:
    model.root_script = script(code("x = llm_batch(['a', 'b'])", "print(x)"), code("FINAL('done')"))
    outcome, events = run(model, Limits())
    names = [type(e).__name__ for e in events]
    assert names[:4] == ["RunStarted", "TurnStarted", "ModelReplied", "CellStarted"]
    assert names.count("SubcallFinished") == 2 and names.index("BatchFinished") < names.index("CellExecuted")
    assert names[-2:] == ["AnswerUpdated", "RunFinished"]
    assert (outcome.answer, outcome.ready, outcome.stopped_by, outcome.iterations) == ("done", True, "answer", 2)
    fed_back = model.root_requests()[1].last_user
    assert "sub-answer to 1 chars" in fed_back and "[turn 1 of 30; 29 left" in fed_back


def test_the_root_prompt_holds_the_description_not_the_input(model: ScriptedModel) -> None:
    model.root_script = script(code("print(1)"), code("FINAL('ok')"))
    run(model, Limits())
    first = model.root_requests()[0]
    assert "(a description)" in first.messages[1]["content"] and "what?" in first.messages[1]["content"]
    assert "llm_batch" in first.system


def test_the_iteration_limit_asks_once_for_the_best_answer(model: ScriptedModel) -> None:
    model.root_script = script(code("answer['content'] = 'draft'"), on_limit="best guess")
    outcome, _ = run(model, Limits(max_iterations=2))
    assert (outcome.answer, outcome.ready, outcome.stopped_by) == ("best guess", False, "max_iterations")
    last = model.root_requests()[-1].last_user
    assert "must stop now" in last and "draft" in last


def test_prose_final_of_a_variable_the_code_just_set_is_accepted_that_turn(model: ScriptedModel) -> None:
    model.root_script = script(
        code("print(len(context))"),
        "Now the tally.\n```python\n# the sub-LLM may answer in a ``` block\ntally = 'three ```fences```'\n```\n\nFINAL_VAR(tally)",
    )
    outcome, _ = run(model, Limits())
    assert (outcome.answer, outcome.ready, outcome.iterations) == ("three ```fences```", True, 2)


def test_a_literal_prose_final_next_to_code_needs_the_output_to_bear_it_out(model: ScriptedModel) -> None:
    model.root_script = script(
        code("print(len(context))"),
        "```python\nprint(6 * 7)\n```\nThe product is 42.\nFINAL(42)",  # the output shows 42: accepted
    )
    outcome, _ = run(model, Limits())
    assert (outcome.answer, outcome.iterations) == ("42", 2)
    model.requests.clear()
    model.root_script = script(
        code("print(len(context))"),
        "```python\nprint(6 * 9)\n```\nFINAL(42)",  # made up: the output says 54
        "FINAL(54)",
    )
    outcome, _ = run(model, Limits())
    assert (outcome.answer, outcome.iterations) == ("54", 3)
    asked = model.root_requests()[2].last_user
    assert asked.startswith("54\n") and "FINAL(42) was not accepted" in asked


def test_prose_final_of_a_bound_name_gives_its_value(model: ScriptedModel) -> None:
    model.root_script = script(code("president = 'Polk'", "print(president)"), "The REPL confirms it.\n\nFINAL(president)")
    outcome, _ = run(model, Limits())
    assert (outcome.answer, outcome.ready) == ("Polk", True)


def test_a_reply_cut_inside_a_block_runs_what_is_complete_and_says_so(model: ScriptedModel) -> None:
    model.root_script = script("```python\nkept = 1\nprint('ran')\nlost = llm_query('unfinished", code("FINAL(str(kept))"))
    outcome, _ = run(model, Limits())
    fed_back = model.root_requests()[1].last_user
    assert fed_back.startswith("ran\n") and "unclosed code block" in fed_back and "last 1 line(s), an unfinished statement, did not run" in fed_back
    assert outcome.answer == "1"


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


def test_the_reasoning_field_never_runs(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    # Through LiteLLM and HTTP: only the reply's content reaches the engine, never its reasoning.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider.root_script = script(
        {"content": "```python\nprint('seen')\n```", "reasoning_content": "```python\nFINAL('from reasoning')\n```"},
        "<think>FINAL(wrong)</think>\n```python\nFINAL('checked')\n```",
    )
    llm = LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=1))
    outcome, events = run(llm, Limits())
    assert (outcome.answer, outcome.iterations) == ("checked", 2)
    cells = [e for e in events if type(e).__name__ == "CellStarted"]
    assert [c.code for c in cells] == ["print('seen')", "FINAL('checked')"]  # type: ignore[attr-defined]


def test_sub_calls_that_all_fail_end_the_run_after_the_cell(model: ScriptedModel) -> None:
    model.fail(ConfigError("openai/sub: the provider refused the API key (403)", reason="auth"), times=None, models="sub")
    model.root_script = script(code("answer['content'] = 'draft'", "x = llm_batch(['a', 'b'])"), code("print('never')"))
    outcome, events = run(model, Limits())
    assert (outcome.stopped_by, outcome.answer, outcome.iterations) == ("error", "draft", 1)
    assert outcome.failure is not None and "refused the API key" in str(outcome.error)
    assert len(model.root_requests()) == 1
    assert type(events[-1]).__name__ == "RunFinished"


@pytest.mark.parametrize(
    ("final", "answer"),
    [
        (code("FINAL('forty-two')"), "forty-two"),
        (code("n = 6 * 7", "FINAL_VAR('n')"), "42"),
        (code("answer['content'] = 'set by hand'", "answer['ready'] = True"), "set by hand"),
        ("The REPL printed it.\n\nFINAL(forty-two)", "forty-two"),
    ],
)
def test_every_final_form_reaches_the_answer(model: ScriptedModel, final: str, answer: str) -> None:
    model.root_script = script(code("print('forty-two')"), final)
    outcome, events = run(model, Limits())
    assert (outcome.answer, outcome.ready, outcome.stopped_by, outcome.iterations) == (answer, True, "answer", 2)
    finished = events[-1]
    assert isinstance(finished, RunFinished) and (finished.answer, finished.ready) == (answer, True)


def test_a_final_before_any_output_is_sent_back(model: ScriptedModel) -> None:
    model.root_script = script(code("FINAL('guess')"), code("print('looked')"), code("FINAL('checked')"))
    outcome, _ = run(model, Limits())
    assert (outcome.answer, outcome.iterations) == ("checked", 3)
    assert prompts.EARLY_READY_NOTE in model.root_requests()[1].last_user


def test_a_reply_without_code_is_nudged(model: ScriptedModel) -> None:
    model.root_script = script("Let me think about it.", code("print(1)"), code("FINAL('ok')"))
    outcome, _ = run(model, Limits())
    assert (outcome.answer, outcome.iterations) == ("ok", 3)
    assert "```" in model.root_requests()[1].last_user  # the nudge shows how to write code


@pytest.mark.parametrize(
    ("limits", "stopped_by"),
    [(Limits(max_cost=0.0045), "max_cost"), (Limits(max_tokens=3_000), "max_tokens"), (Limits(max_iterations=1), "max_iterations")],
)
def test_a_budget_stops_the_run_with_a_partial_answer(model: ScriptedModel, limits: Limits, stopped_by: str) -> None:
    model.root_script = script(code("answer['content'] = 'draft'", "print('working')"), on_limit="best so far")
    outcome, events = run(model, limits)
    assert outcome.stopped_by == stopped_by and not outcome.ready
    assert outcome.answer in ("draft", "best so far")
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.stopped_by == stopped_by


def test_the_sub_call_budget_turns_calls_into_finish_now(model: ScriptedModel) -> None:
    model.root_script = script(code("print(llm_batch(['a', 'b', 'c']))"), on_limit="partial")
    outcome, _ = run(model, Limits(max_sub_calls=2))
    assert len(model.sub_requests()) == 2  # the third was answered "finish now", not sent
    assert (outcome.stopped_by, outcome.answer, outcome.iterations) == ("max_sub_calls", "partial", 1)
    assert "sub-call limit" in model.root_requests()[1].last_user


def test_a_past_deadline_stops_before_the_first_turn(model: ScriptedModel) -> None:
    outcome, _ = run(model, Limits(deadline=time.monotonic() - 1))
    assert outcome.stopped_by == "timeout" and outcome.iterations == 0


def test_a_root_model_failure_ends_the_run_keeping_the_draft(model: ScriptedModel) -> None:
    def root(request: Request) -> Reply:
        if request.turn == 1:  # the second turn's call fails for good
            raise ProviderError("openai/root: fake failure 500 (gave up after 7 attempts)", reason="500")
        return code("answer['content'] = 'draft'", "print(1)")

    model.root_script = root
    outcome, events = run(model, Limits())
    assert (outcome.stopped_by, outcome.answer, outcome.ready) == ("error", "draft", False)
    assert "gave up" in str(outcome.error) and isinstance(outcome.failure, ProviderError)
    assert isinstance(events[-1], RunFinished) and events[-1].error == outcome.error


def test_sub_calls_fan_out_and_come_back_in_order(model: ScriptedModel) -> None:
    model.sub_rule = lambda request: request.last_user.upper()
    model.root_script = script(code("print(llm_batch([f'item {i}' for i in range(6)]), llm_query('one'))"), code("FINAL('ok')"))
    outcome, events = run(model, Limits())
    shown = model.root_requests()[1].last_user
    assert "['ITEM 0', 'ITEM 1', 'ITEM 2', 'ITEM 3', 'ITEM 4', 'ITEM 5'] ONE" in shown
    assert len(model.sub_requests()) == 7 and outcome.ready
    assert [type(e).__name__ for e in events].count("SubcallFinished") == 7


def test_nothing_is_sent_after_the_run_finished(model: ScriptedModel) -> None:
    # The model's code leaves a batch running in a thread of its own; the run then ends while
    # four sub-calls are in flight and eight wait for the pool.
    model.hold()
    turns = script(
        code("import threading", "t = threading.Thread(target=llm_batch, args=([str(i) for i in range(12)],))", "t.start()", "print('started')"),
        code("FINAL('done')"),
    )

    def root(request: Request) -> Reply:
        if request.turn == 1:
            assert model.wait_for(lambda m: len(m.sub_requests()) == 4)
        return turns(request)

    model.root_script = root
    sent_at_end: list[int] = []

    class Recorder(list[Event]):
        def append(self, event: Event) -> None:
            if isinstance(event, RunFinished):
                sent_at_end.append(len(model.sub_requests()))
            super().append(event)

    events = Recorder()
    outcome, _ = run(model, Limits(), emit=events)
    assert outcome.ready and sent_at_end == [4]
    # The four in flight are abandoned and the eight queued are dropped: nothing is left waiting.
    assert model.wait_for(lambda m: m.in_flight == 0)
    assert len(model.sub_requests()) == 4
    assert isinstance(events[-1], RunFinished)  # the abandoned calls report nothing after it


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
def test_one_repair_turn_when_the_review_finds_the_answer_wanting(model: ScriptedModel, repair: str, answer: str) -> None:
    model.root_script = script(code("print(1)"), code("FINAL('see a.py:9')"), repair)
    outcome, events = run(model, Limits(), review=Review())
    assert (outcome.answer, outcome.ready, outcome.stopped_by) == (answer + " [checked]", True, "answer")
    assert len(model.root_requests()) == 3
    assert model.root_requests()[2].last_user == "fix a.py:9"
    last = [e for e in events if isinstance(e, AnswerUpdated)][-1]
    assert (last.content, last.ready) == (answer, True)


def test_no_repair_turn_past_the_turn_limit(model: ScriptedModel) -> None:
    model.root_script = script(code("print(1)"), code("FINAL('see a.py:9')"))
    outcome, _ = run(model, Limits(max_iterations=2), review=Review())
    assert (outcome.answer, outcome.stopped_by, len(model.root_requests())) == ("see a.py:9 [checked]", "answer", 2)
