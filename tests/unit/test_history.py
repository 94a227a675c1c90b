"""Past runs: listing, finding, their results, and the `replay`, `runs` and `show` commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlm_cli.cli import app
from rlm_cli.errors import InputError
from rlm_cli.history import find_run, list_runs, result_from_events, summarize
from rlm_cli.result import RunResult
from rlm_cli.settings import Settings
from rlm_cli.trace import TraceWriter, read_trace, runs_dir
from tests.unit.render_streams import ANSWER, Stream, scripted_run


def record(directory: Path, stream: Stream, mtime: float) -> Path:
    path = directory / f"{stream.run_id}.jsonl"
    writer = TraceWriter(path)
    for event in stream.events:
        writer.handle(event)
    writer.close(RunResult())
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def runs() -> Path:
    """Three recorded runs in the isolated state directory: done, partial, cut short."""
    directory = runs_dir(Settings())
    done = scripted_run()
    record(directory, done, 1000)
    partial = Stream("a1b2-partial", t0=2000).start("what changed?", model="openai/cheap")
    partial.turn("print(1)")
    partial.answer("draft")
    partial.finish("draft", stopped_by="max_iterations", ready=False)
    record(directory, partial, 3000)
    cut = Stream("a1b2-cut", t0=4000).start("count the errors")
    cut.turn("print(2)")
    cut.answer("12 so far")
    record(directory, cut, 5000)
    (directory / "notes.txt").write_text("not a trace")
    (directory / "empty.jsonl").write_text("")
    return directory


def test_runs_are_listed_newest_first_from_first_and_last_lines(runs: Path) -> None:
    found = list_runs(runs)
    assert [r.run_id for r in found] == ["a1b2-cut", "a1b2-partial", "run-1"]
    cut, partial, done = found
    assert (cut.status, cut.cost_usd, cut.question) == ("unfinished", None, "count the errors")
    assert (partial.status, partial.model, partial.ready) == ("max_iterations", "openai/cheap", False)
    assert done.status == "answer" and done.ready and done.cost_usd == pytest.approx(0.0114)
    assert done.tokens == 16_740 and done.sources == ["./repo"]
    assert [r.run_id for r in list_runs(runs, limit=1)] == ["a1b2-cut"]
    assert list_runs(runs / "missing") == []


def test_the_last_line_is_found_past_a_long_one(tmp_path: Path) -> None:
    s = Stream().start()
    s.answer("y" * 200_000, ready=True)
    s.finish("z" * 200_000)
    summary = summarize(record(tmp_path, s, 1))
    assert summary is not None and summary.status == "answer"


def test_find_by_id_prefix_or_path(runs: Path) -> None:
    assert find_run(runs, "run-1") == runs / "run-1.jsonl"
    assert find_run(runs, "a1b2-p") == runs / "a1b2-partial.jsonl"
    assert find_run(runs, "partial") == runs / "a1b2-partial.jsonl"  # the tail `rlm runs` shows
    assert find_run(runs, str(runs / "a1b2-cut.jsonl")) == runs / "a1b2-cut.jsonl"
    with pytest.raises(InputError, match="matches 2 runs"):
        find_run(runs, "a1b2")
    with pytest.raises(InputError, match="no recorded run matches 'zzz'"):
        find_run(runs, "zzz")


def test_results_rebuilt_from_traces(runs: Path) -> None:
    done = result_from_events(read_trace(runs / "run-1.jsonl"))
    assert (done.answer, done.ready, done.exit_code, done.iterations, done.sub_calls) == (ANSWER, True, 0, 3, 51)
    partial = result_from_events(read_trace(runs / "a1b2-partial.jsonl"))
    assert (partial.stopped_by, partial.exit_code, partial.answer) == ("max_iterations", 3, "draft")
    cut = result_from_events(read_trace(runs / "a1b2-cut.jsonl"))
    assert (cut.answer, cut.ready, cut.exit_code) == ("12 so far", False, 1)
    assert cut.error and "before the run finished" in cut.error


def test_runs_command_table_and_json(runs: Path) -> None:
    table = CliRunner().invoke(app, ["runs"])
    assert table.exit_code == 0
    assert "count the errors" in table.stdout and "max_iterations" in table.stdout
    as_json = CliRunner().invoke(app, ["runs", "--json", "--limit", "2"])
    data = json.loads(as_json.stdout)
    assert data["schema"] == 1 and [r["run_id"] for r in data["runs"]] == ["a1b2-cut", "a1b2-partial"]


def test_show_prints_the_answer_on_stdout_and_the_summary_on_stderr(runs: Path) -> None:
    shown = CliRunner().invoke(app, ["show", "run-1"])
    assert shown.exit_code == 0
    assert shown.stdout == ANSWER
    assert "rlm: run run-1 · " in shown.stderr and "rlm: 3 turns · 51 sub-calls" in shown.stderr
    data = json.loads(CliRunner().invoke(app, ["show", "a1b2-p", "--json"]).stdout)
    assert (data["answer"], data["stopped_by"], data["exit_code"]) == ("draft", "max_iterations", 3)


def test_replay_draws_the_final_tree_and_reports_bad_traces(runs: Path, tmp_path: Path) -> None:
    replayed = CliRunner().invoke(app, ["replay", str(runs / "run-1.jsonl")])
    assert replayed.exit_code == 0
    assert "✓ answer ready · 10.1s · 3 turns · 51 sub-calls (2 failed)" in replayed.stdout
    assert "\x1b" not in replayed.stdout
    by_id = CliRunner().invoke(app, ["replay", "a1b2-cut"])
    assert "unfinished" in by_id.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\nworld\n")
    failed = CliRunner().invoke(app, ["replay", str(bad)])
    assert failed.exit_code == 2
    assert failed.stderr.startswith("rlm: error: ") and failed.stderr.count("\n") <= 2
    missing = CliRunner().invoke(app, ["replay", "nope"])
    assert missing.exit_code == 2


def test_live_replay_runs_to_the_same_final_state(runs: Path) -> None:
    replayed = CliRunner().invoke(app, ["replay", "run-1", "--live", "--speed", "1000"])
    assert replayed.exit_code == 0
    assert "✓ answer ready · 10.1s" in replayed.stdout


def test_last_is_the_newest_run(runs: Path, tmp_path: Path) -> None:
    assert find_run(runs, "last") == runs / "a1b2-cut.jsonl"
    shown = CliRunner().invoke(app, ["show", "last"])
    assert shown.exit_code == 0 and shown.stdout == "12 so far\n"
    with pytest.raises(InputError, match="no recorded runs yet"):
        find_run(tmp_path / "nothing", "last")


def test_runs_search_matches_question_sources_model_and_answer(runs: Path) -> None:
    assert [r.run_id for r in list_runs(runs, search="ERRORS")] == ["a1b2-cut"]  # the question, any case
    assert len(list_runs(runs, search="./REPO")) == 3  # a source
    assert [r.run_id for r in list_runs(runs, search="openai/cheap")] == ["a1b2-partial"]  # the model
    assert [r.run_id for r in list_runs(runs, search="session.py")] == ["run-1"]  # the final answer
    table = CliRunner().invoke(app, ["runs", "--search", "changed"])
    assert table.exit_code == 0 and "what changed?" in table.stdout and "count the errors" not in table.stdout
    none = CliRunner().invoke(app, ["runs", "--search", "zebra"])
    assert none.exit_code == 0 and none.stdout == "" and "no recorded run mentions 'zebra'" in none.stderr
