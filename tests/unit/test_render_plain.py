"""Plain progress lines, the silent renderer, and which renderer `make_renderer` picks."""

from __future__ import annotations

import dataclasses
import re
from io import StringIO

import pytest
from rich.console import Console

from rlm_cli import events as ev
from rlm_cli.render import Renderer, SilentRenderer, TerminalSafe, make_renderer
from rlm_cli.render.live import TreeRenderer
from rlm_cli.render.plain import PlainRenderer
from rlm_cli.result import RunResult
from tests.unit.render_streams import nested_run, retrying_run, scripted_run

ESCAPE = re.compile(r"\x1b")


def plain(events: list, *, verbose: bool = False) -> str:
    out = StringIO()
    renderer = PlainRenderer(out, verbose=verbose)
    for event in events:
        renderer.handle(event)
    renderer.close(RunResult())
    return out.getvalue()


def test_plain_mode_writes_one_line_per_event_of_interest_without_escape_codes() -> None:
    text = plain(scripted_run(500, failed=frozenset({3})).events)
    assert not ESCAPE.search(text)
    lines = text.splitlines()
    assert lines[0] == (
        "[    0.0s] run run-1 · model openai/root-model (sub openai/sub-model) · 120 documents, 2.2 MiB, "
        "3 skipped · question: where is auth handled?"
    )
    assert "[    1.5s] turn 1 · reply 1.2k in, 300 out · 1.5s · $0.0021" in lines
    assert any(line.endswith("llm_batch b1 · 500 calls to openai/sub-model") for line in lines)
    assert any("llm_batch b1 #3 · failed after" in line for line in lines)
    assert any(re.search(r"llm_batch b1 · 500 calls done in .* \(1 failed\)$", line) for line in lines)
    assert lines[-1].endswith("answer (ready) · 102 chars")
    assert not any("finished" in line for line in lines)  # the summary line, printed with the answer, says it once
    assert len(lines) < 25  # a 500-call batch does not print 500 lines


def test_every_retry_is_a_line_naming_the_status_the_model_and_the_pause() -> None:
    lines = plain(retrying_run().events).splitlines()
    retries = [line.split("] ", 1)[1] for line in lines if "retry" in line]
    assert retries == [
        "429 from openai/root-model, retry 1/6 in 0.5 s",
        "429 from openai/root-model, retry 2/6 in 1.0 s",
        "500 from openai/sub-model, retry 1/6 in 1.2 s",
        "500 from openai/sub-model, retry 2/6 in 3.1 s",
    ]
    verbose = plain(retrying_run().events, verbose=True)
    assert "500 from openai/sub-model, retry 2/6 in 3.1 s: fake failure 500" in verbose


def test_verbose_plain_prints_code_output_and_every_call() -> None:
    run = scripted_run(5)
    text = plain(run.events, verbose=True)
    assert "print(len(context))" in text
    assert "src/file_19.py" in text
    assert "llm_batch b1 #4 · 240 tok" in text


def test_child_runs_are_indented() -> None:
    text = plain(nested_run().events)
    assert "]   child run run-1.1 · model" in text
    assert "]   turn 1 · reply" in text


def test_silent_renderer_and_quiet_show_nothing() -> None:
    out = Console(file=StringIO(), width=80, color_system=None, force_terminal=True)
    renderer = make_renderer("tree", quiet=True, verbose=False, console=out)
    assert isinstance(renderer, SilentRenderer)
    for event in scripted_run().events:
        renderer.handle(event)
    renderer.close(RunResult())
    assert out.file.getvalue() == ""  # type: ignore[attr-defined]
    assert isinstance(make_renderer("none", quiet=False, verbose=False, console=out), SilentRenderer)


@pytest.mark.parametrize(
    ("terminal", "env", "expected"),
    [
        (True, {}, TreeRenderer),
        (False, {}, PlainRenderer),
        (True, {"NO_COLOR": "1"}, PlainRenderer),
        (True, {"TERM": "dumb"}, PlainRenderer),
    ],
)
def test_auto_picks_the_tree_only_on_a_colour_terminal(
    terminal: bool, env: dict[str, str], expected: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = Console(file=StringIO(), force_terminal=terminal)
    assert isinstance(shown_by(make_renderer("auto", quiet=False, verbose=False, console=out)), expected)


def test_explicit_modes_and_bad_mode() -> None:
    out = Console(file=StringIO())
    assert isinstance(shown_by(make_renderer("tree", quiet=False, verbose=False, console=out)), TreeRenderer)
    assert isinstance(shown_by(make_renderer("plain", quiet=False, verbose=True, console=out)), PlainRenderer)
    with pytest.raises(ValueError, match="progress must be one of"):
        make_renderer("fancy", quiet=False, verbose=False, console=out)




def shown_by(renderer: Renderer) -> Renderer:
    """The renderer that draws: every visible one sits behind the terminal-safety wrapper."""
    assert isinstance(renderer, TerminalSafe)
    return renderer.inner


def test_plain_times_count_from_the_process_start() -> None:
    run = scripted_run()
    out = StringIO()
    renderer = PlainRenderer(out, origin=run.events[0].ts - 4.0)
    for event in run.events:
        renderer.handle(event)
    assert out.getvalue().startswith("[    4.0s] run run-1 · ")


def test_a_child_run_still_says_how_it_finished() -> None:
    text = plain(nested_run().events)
    finished = [line for line in text.splitlines() if "finished · " in line]
    assert finished and all(line.split("] ", 1)[1].startswith("  ") for line in finished)  # indented: children only


def test_a_call_answered_from_the_cache_says_so_and_what_it_saved() -> None:
    events = [dataclasses.replace(e, from_cache=True) if isinstance(e, ev.SubcallFinished) else e for e in scripted_run(5).events]
    text = plain(events, verbose=True)
    assert "llm_batch b1 #4 · cached · 240 tok saved" in text
    assert "llm_batch b1 #4 · 240 tok ·" not in text
