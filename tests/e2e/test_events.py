"""`rlm ask --events`: the run's events as JSON lines on stdout, ending with the `--json` object."""

from __future__ import annotations

import json
from pathlib import Path

from rlm_cli.result import RunResult
from tests.e2e.helpers import model_flags, rlm
from tests.fakes.provider import FakeProvider, code, script


def test_events_stream_repeats_the_trace_and_ends_with_the_json_object(provider: FakeProvider, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("".join(f"line {n}\n" for n in range(400)), encoding="utf-8")
    provider.root_script = script(
        code("found = llm_batch([f'summarise {c}' for c in context.chunks(600)])", "print(len(found))"),
        code("FINAL('done')"),
    )
    trace = tmp_path / "trace.jsonl"
    done = rlm(["ask", str(source), "q?", "--events", "--trace", str(trace), *model_flags(provider)])
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]  # every line parses
    *events, final = lines
    recorded = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [{k: v for k, v in event.items() if k != "schema"} for event in events] == recorded
    assert all(event["schema"] == 1 for event in events)
    assert sum(event["event"] == "SubcallFinished" for event in events) > 1  # a fan-out was streamed
    assert events[0]["event"] == "RunStarted" and events[-1]["event"] == "RunFinished"
    finished = events[-1]
    assert list(final) == list(RunResult().to_json_dict())  # the --json object, key for key
    assert final["answer"] == finished["answer"] == "done" and final["ready"] is True and final["exit_code"] == 0
    assert (final["iterations"], final["sub_calls"], final["usage"]) == (finished["iterations"], finished["sub_calls"], finished["usage"])
    assert final["run_id"] == events[0]["run_id"] and final["trace"] == str(trace)


def test_events_of_a_run_refused_before_it_started_are_the_json_object_alone(tmp_path: Path) -> None:
    done = rlm(["ask", str(tmp_path / "missing.txt"), "q?", "--events", "--model", "openai/root"])
    assert done.returncode == 2
    (line,) = done.stdout.splitlines()
    final = json.loads(line)
    assert final["exit_code"] == 2 and "missing.txt" in final["error"]
