"""The tree renderer driven by recorded event streams, checked on a fixed-width colourless console."""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from io import StringIO

from rich.console import Console

from rlm_cli import events as ev
from rlm_cli.render.calls import View
from rlm_cli.render.fit import FitHeight
from rlm_cli.render.live import TreeRenderer
from rlm_cli.render.state import RunState
from rlm_cli.render.tree import run_view
from rlm_cli.result import RunResult
from tests.unit.render_streams import ANSWER, Stream, nested_run, retrying_run, scripted_run


def console(height: int = 200) -> Console:
    return Console(file=StringIO(), width=80, height=height, color_system=None)


def final_tree(events: list[ev.Event]) -> str:
    out = console()
    renderer = TreeRenderer(out)
    for event in events:
        renderer.handle(event)
    renderer.close(RunResult())
    return out.file.getvalue()  # type: ignore[attr-defined]


def frame(events: list[ev.Event], now: float, *, height: int = 200, verbose: bool = False) -> str:
    state = RunState()
    for event in events:
        state.apply(event)
    out = console(height)
    out.print(FitHeight(run_view(state, View(now=now, verbose=verbose))))
    return out.file.getvalue()  # type: ignore[attr-defined]


def test_final_tree_shows_run_turns_code_output_batch_answer_and_footer() -> None:
    text = final_tree(scripted_run().events)
    assert text.startswith(
        "where is auth handled?\n"
        "model openai/root-model · sub openai/sub-model\n"
        "120 documents, 2.2 MiB, 3 skipped · ./repo\n"
    )
    for part in (
        "├── turn 1 · 1.2k in, 300 out · 1.5s · $0.0021",
        "│   └── cell 1 ✓ 0.2s",
        "│       ├── print(len(context))",
        "output · 298 chars · 21 lines",
        "… 15 lines …",
        "src/file_19.py",
        "llm_batch ━━━━━━━━━━━━ 50/50 done · 2 failed · ",
        "#7 ✗ 1.2s · RateLimitError: 429 after 6 retries",
        "#4 ✓ 240 tok · 5.1s · \"chunk 4 mentions login()",
        "└── … 45 more calls",
        "llm_query ✓ 240 tok · 0.5s",
        "└── answer (ready) · 102 chars",
        "        - `verify_token()` checks JWTs",
    ):
        assert part in text, part
    assert text.endswith(
        "✓ answer ready · 10.1s · 3 turns · 51 sub-calls (2 failed)\n"
        "root 4.5k tok $0.0063 · sub 12.2k tok $0.0051\n"
    )


def test_500_call_batch_collapses_to_counts_plus_failed_and_slowest() -> None:
    text = final_tree(scripted_run(500, failed=frozenset({3, 99, 250})).events)
    assert "llm_batch ━━━━━━━━━━━━ 500/500 done · 3 failed · " in text
    assert "… 494 more calls" in text
    for index in (3, 99, 250):
        assert f"#{index} ✗" in text
    assert text.count(" ✓ 240 tok · 5.2s") == 3  # the three slowest
    assert len(text.splitlines()) < 60


def test_mid_run_frame_has_spinners_progress_and_running_footer() -> None:
    s = scripted_run(finish=False)
    s.events = s.events[: s.events.index(next(e for e in s.events if isinstance(e, ev.BatchStarted))) + 1]
    s.batch("b2", 40, failed=frozenset({2}), running=frozenset(range(30, 40)))
    text = frame(s.events, now=s.t + 1.0)
    assert "llm_batch ━━━━━━━━━─── 30/40 done · 10 running · 1 failed · ⠙ 1.1s" in text
    assert "cell 1 running ⠙ 7.9s" in text
    assert "#2 ✗ 2.7s · RateLimitError" in text
    assert "├── #30 ⠙ 1.1s" in text
    assert "\nrunning · " in text  # the footer while the run goes
    assert "unfinished" not in text


def test_retries_show_while_a_call_waits_and_are_counted_after() -> None:
    events = retrying_run().events
    root_waiting = next(i for i, e in enumerate(events) if isinstance(e, ev.CallRetried) and e.retry == 2) + 1
    text = frame(events[:root_waiting], now=events[root_waiting - 1].ts + 0.3)
    assert re.search(r"turn 1 · waiting for the model . 0\.3s\n    └── 429 from openai/root-model, retry 2/6 in 1\.0 s\n", text)
    sub_waiting = max(i for i, e in enumerate(events) if isinstance(e, ev.CallRetried)) + 1
    text = frame(events[:sub_waiting], now=events[sub_waiting - 1].ts)
    assert re.search(r"#1 . 0\.5s · 500 from openai/sub-model, retry 2/6 in 3\.1 s\n", text)
    assert "retried 2 times" in text  # the root call's retries, once it answered
    final = final_tree(events)
    assert "turn 1 · 1.2k in, 300 out · 1.5s · $0.0021 · retried 2 times" in final
    assert '#1 ✓ 240 tok · 5.0s · "fine after two retries" · retried 2 times' in final
    assert "#0 ✓ 240 tok · 0.5s · \"fine\"\n" in final  # a call never retried says nothing of it


def test_spinner_frame_follows_the_clock() -> None:
    events = Stream().start().events
    s = Stream()
    s.events = list(events)
    s.turn("x = 1")
    frames = {frame(s.events[:-1], now=s.t + i / 10).splitlines()[3] for i in range(10)}
    assert len(frames) > 1


def test_long_runs_fold_older_turns_while_live_but_not_at_the_end() -> None:
    s = Stream().start()
    for _ in range(12):
        s.turn("print(1)")
        s.cell(1, "print(1)")
        s.executed(1)
    live = frame(s.events, now=s.t)
    assert "… 4 earlier turns" in live
    assert "turn 5 · 1 cell · 0 sub-calls · 1.5k tok" in live
    assert "turn 12 · 1.2k in" in live
    final = final_tree(s.events)
    assert "earlier turns" not in final
    assert final.count("cell 1 ✓") == 12


def test_tall_frames_keep_the_header_and_the_newest_lines() -> None:
    s = scripted_run(finish=False)
    text = frame(s.events, now=s.t, height=20)
    lines = text.splitlines()
    assert len(lines) <= 17
    assert lines[0] == "where is auth handled?"
    assert lines[3].startswith("⋮ ") and lines[3].endswith("lines above")
    assert lines[-1].startswith("root 4.5k tok")


def test_nested_rlm_query_draws_the_child_run_as_a_subtree() -> None:
    text = final_tree(nested_run().events)
    assert "rlm_query ✓ 240 tok · 3.0s" in text
    assert "│       │   ├── child run · what does paper A evaluate?" in text
    assert "│       │   ├── turn 1 · 1.2k in" in text
    assert "llm_batch ━━━━━━━━━━━━ 3/3 done" in text
    # Tokens of the child run count as the parent's sub usage.
    assert text.endswith("sub 2.5k tok $0.0025\n")


def test_errors_timeouts_restarts_and_notices_are_marked() -> None:
    s = Stream().start()
    s.turn("while True: pass")
    s.cell(1, "while True: pass")
    s.executed(1, "", error="Traceback ...\nTimeoutError: cell took too long", timed_out=True, restarted=True, duration=120)
    s.emit(ev.Notice, 0.1, message="sub-call budget nearly spent", level="warning")
    s.finish("", stopped_by="max_iterations", ready=False)
    text = final_tree(s.events)
    assert "cell 1 ✗ timed out after 2m00s · REPL restarted" in text
    assert "TimeoutError: cell took too long" in text
    assert "! sub-call budget nearly spent" in text
    assert "◼ stopped by max_iterations (partial answer)" in text


def test_unknown_cost_is_said_so() -> None:
    s = scripted_run(finish=False)
    s.emit(ev.ModelReplied, turn=3, prompt_chars=1, reply="", prompt_tokens=1, completion_tokens=1, cost_usd=None, latency_s=0.1)
    assert "cost unknown" in frame(s.events, now=s.t).splitlines()[-1]


def test_verbose_shows_every_call_and_the_full_output() -> None:
    text = frame(scripted_run().events, now=0, verbose=True)
    assert "#49 " in text and "more calls" not in text
    assert "chunk 25 mentions login()" in text


def test_events_from_many_threads_are_all_counted() -> None:
    s = Stream().start()
    s.turn("llm_batch(...)")
    s.cell(1, "llm_batch(...)")
    s.emit(ev.BatchStarted, batch_id="b1", size=400, model="m")
    renderer = TreeRenderer(console(), refresh_per_second=50)
    for event in s.events:
        renderer.handle(event)
    calls = [
        (ev.SubcallStarted("run-1", call_id=f"c{i}", batch_id="b1", index=i, model="m", prompt="p", prompt_chars=1),
         ev.SubcallFinished("run-1", call_id=f"c{i}", batch_id="b1", index=i, model="m", answer="a", answer_chars=1,
                            prompt_tokens=1, completion_tokens=1, cost_usd=0.0, latency_s=0.01, error=None))
        for i in range(400)
    ]
    random.Random(1).shuffle(calls)
    workers = [threading.Thread(target=lambda part=calls[i::8]: [renderer.handle(e) for pair in part for e in pair]) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    renderer.close(RunResult())
    assert "400/400 done" in renderer.console.file.getvalue()  # type: ignore[attr-defined]
    assert renderer.state.root is not None and renderer.state.root.sub_calls == 400


def test_answer_updates_show_the_draft_then_the_ready_answer() -> None:
    s = Stream().start()
    s.answer("first draft")
    assert "answer (draft) · 11 chars" in frame(s.events, now=s.t)
    s.answer(ANSWER, ready=True)
    assert "answer (ready)" in frame(s.events, now=s.t)


def test_an_event_after_close_does_not_start_the_display() -> None:
    renderer = TreeRenderer(console())
    renderer.close(RunResult())
    renderer.handle(scripted_run().events[0])
    assert not renderer._live.is_started


def test_close_racing_the_first_event_leaves_no_display_running() -> None:
    renderer = TreeRenderer(console(), refresh_per_second=50)
    live_start = renderer._live.start
    closing = threading.Thread(target=renderer.close, args=(RunResult(),))

    def start_while_closing(*args: object, **kwargs: object) -> None:
        closing.start()  # close() arrives between the event being folded in and the Live starting
        closing.join(0.2)
        live_start(*args, **kwargs)

    renderer._live.start = start_while_closing  # type: ignore[method-assign]
    renderer.handle(scripted_run().events[0])
    closing.join()
    assert not renderer._live.is_started


def test_footer_counts_from_the_process_start_and_shows_no_price_before_any_reply() -> None:
    s = Stream(t0=1000.0).start()
    s.emit(ev.TurnStarted, 0.5, turn=1, message="")
    state = RunState()
    for event in s.events:
        state.apply(event)
    out = console()
    out.print(run_view(state, View(now=1002.0, origin=995.0)))
    footer = out.file.getvalue().splitlines()[-2:]  # type: ignore[attr-defined]
    assert footer[0] == "running · 7.0s · 1 turn · 0 sub-calls"  # 1002 - 995, not since the first event
    assert footer[1] == "root 0 tok"  # no $0.0000 before the first reply


def test_an_unpriced_reply_says_cost_unknown_once_in_the_footer_only() -> None:
    s = Stream().start()
    s.turn("print(1)")
    s.emit(ev.ModelReplied, 0.1, turn=1, prompt_chars=1, reply="", prompt_tokens=1000, completion_tokens=10, cost_usd=None, latency_s=0.1)
    s.emit(ev.TurnStarted, 0.01, turn=2, message="")
    s.emit(ev.ModelReplied, 0.1, turn=2, prompt_chars=1, reply="", prompt_tokens=1000, completion_tokens=10, cost_usd=None, latency_s=0.1)
    text = frame(s.events, now=s.t)
    assert text.count("cost unknown") == 1
    assert text.splitlines()[-1].endswith("· cost unknown")
    assert "$0.0000" not in text


def batch_of(answers: list[str | None]) -> str:
    """The final tree of one batch whose calls answered these (None: failed); later calls slower."""
    s = Stream().start()
    s.turn("found = llm_batch(prompts)")
    s.cell(1, "found = llm_batch(prompts)")
    s.emit(ev.BatchStarted, 0.01, batch_id="b1", size=len(answers), model="openai/sub-model")
    ids = [s.call_start(f"chunk {i}", batch_id="b1", index=i) for i in range(len(answers))]
    for i, answer in enumerate(answers):
        error = "RateLimitError: 429" if answer is None else None
        s.call_end(ids[i], answer or "", batch_id="b1", index=i, latency=1.0 + i / 10, error=error, dt=0.001)
    s.emit(ev.BatchFinished, 0.01, batch_id="b1", size=len(answers), failed=answers.count(None), duration_s=4.0)
    return final_tree(s.events)


def test_the_one_call_that_found_something_is_shown_first_in_a_big_batch() -> None:
    answers: list[str | None] = ["No." if i % 2 else "No relevant information in this chunk." for i in range(30)]
    answers[4] = "Found it: disk quota exceeded on db-7 at 03:12"
    answers[9] = None
    lines = [line for line in batch_of(answers).splitlines() if "#" in line or "more calls" in line]
    assert "#4 ✓" in lines[0] and "disk quota exceeded" in lines[0]  # the find, first
    assert "#9 ✗" in lines[1]  # then the failure
    assert [line.split(" ✓")[0].split()[-1] for line in lines[2:5]] == ["#29", "#28", "#27"]  # then the slowest
    assert lines[-1].endswith("… 25 more calls")


def test_a_big_batch_shows_the_answers_that_differ_from_the_rest() -> None:
    answers: list[str | None] = ["yes"] * 20
    answers[3] = answers[17] = "no"
    lines = [line for line in batch_of(answers).splitlines() if "#" in line or "more calls" in line]
    assert "#3 ✓" in lines[0] and "#17 ✓" in lines[1]
    assert lines[-1].endswith("… 16 more calls")  # #17 is also among the three slowest


def test_no_like_answers() -> None:
    from rlm_cli.render.calls import no_like

    for answer in ("", "No.", "none", "N/A", "Not mentioned.", "Nothing relevant here", "**No**", "[]"):
        assert no_like(answer), answer
    for answer in ("Nope, but line 41 says quota", "Notably, db-7 failed", "yes", "3 errors at 03:12"):
        assert not no_like(answer), answer


def test_the_footer_counts_the_calls_each_deployment_answered() -> None:
    s = scripted_run(finish=False)
    events = [
        dataclasses.replace(e, deployment="eu" if e.index % 2 else "us") if isinstance(e, ev.SubcallFinished) and not e.error else e
        for e in s.events
    ]
    answered = [e for e in events if isinstance(e, ev.SubcallFinished) and not e.error]
    eu, us = sum(e.deployment == "eu" for e in answered), sum(e.deployment == "us" for e in answered)
    assert eu and us
    assert f"\ncalls by deployment: eu {eu}, us {us}" in frame(events, now=s.t + 1.0)
    assert "by deployment" not in frame(s.events, now=s.t + 1.0)  # one deployment per model: nothing to say


def test_a_running_batch_shows_the_concurrency_limit_while_429s_keep_it_low() -> None:
    stream = Stream().start()
    stream.turn("answers = llm_batch(chunks)")
    stream.cell(1, "answers = llm_batch(chunks)")
    stream.emit(ev.ConcurrencyChanged, 0.01, limit=44, maximum=64, reason="backoff")
    stream.batch("b1", 20, running=frozenset({3, 4}))
    before = frame(stream.events, stream.t)
    stream.emit(ev.ConcurrencyChanged, 0.01, limit=6, maximum=64, reason="backoff")
    lowered = frame(stream.events, stream.t)
    stream.emit(ev.ConcurrencyChanged, 0.01, limit=64, maximum=64, reason="recovered")
    recovered = frame(stream.events, stream.t)
    assert "limit 44/64 (429s)" in before  # lowered before the batch started
    assert "limit 6/64 (429s)" in lowered and "2 running" in lowered
    assert "limit" not in recovered
