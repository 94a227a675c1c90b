"""JSONL traces: written line by line, redacted, capped, read back, and replayed to the same tree."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from rlm_cli import events as ev
from rlm_cli.errors import InputError
from rlm_cli.render.live import TreeRenderer
from rlm_cli.render.replay import print_final_tree, replay_live
from rlm_cli.result import RunResult
from rlm_cli.settings import Settings
from rlm_cli.trace import TraceWriter, default_trace_path, read_trace, secret_values
from rlm_cli.units import clip
from tests.unit.render_streams import Stream, nested_run, retrying_run, scripted_run
from tests.unit.sandbox_helpers import wait_until

FAKE_KEY = "sk-test-0123456789abcdefSECRET"


def write(path: Path, events: list[ev.Event], **kwargs: object) -> None:
    writer = TraceWriter(path, **kwargs)  # type: ignore[arg-type]
    for event in events:
        writer.handle(event)
    writer.close(RunResult())


def test_every_event_round_trips(tmp_path: Path) -> None:
    events = nested_run().events
    write(tmp_path / "t.jsonl", events)
    assert read_trace(tmp_path / "t.jsonl") == events


def test_retries_are_recorded_and_replay_to_the_same_tree(tmp_path: Path) -> None:
    events = retrying_run().events
    write(tmp_path / "t.jsonl", events)
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    retried = [line for line in lines if line["event"] == "CallRetried"]
    assert [(r["call_id"], r["reason"], r["retry"], r["max_retries"], r["delay_s"]) for r in retried] == [
        (None, "429", 1, 6, 0.5), (None, "429", 2, 6, 1.0), ("run-1-c2", "500", 1, 6, 1.2), ("run-1-c2", "500", 2, 6, 3.1),
    ]
    live, replayed = (Console(file=StringIO(), width=80, color_system=None) for _ in range(2))
    print_final_tree(events, live)
    print_final_tree(read_trace(tmp_path / "t.jsonl"), replayed)
    assert "retried 2 times" in replayed.file.getvalue()  # type: ignore[attr-defined]
    assert replayed.file.getvalue() == live.file.getvalue()  # type: ignore[attr-defined]


def test_each_line_is_on_disk_before_the_next_event(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TraceWriter(path)
    for count, event in enumerate(scripted_run().events[:5], 1):
        writer.handle(event)
        assert len(path.read_text().splitlines()) == count
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_cut_last_line_is_skipped_but_a_bad_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write(path, scripted_run().events)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])
    assert len(read_trace(path)) == len(scripted_run().events) - 1
    path.write_text("{nope\n" + text)
    with pytest.raises(InputError, match=r"t.jsonl:1: not a trace line"):
        read_trace(path)
    with pytest.raises(InputError, match="no trace at"):
        read_trace(tmp_path / "missing.jsonl")


def test_api_keys_never_reach_a_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdef-123456")
    monkeypatch.setenv("SHORT_TOKEN", "1")  # too short to redact safely
    s = scripted_run(finish=False)
    s.cell(2, f"print('{FAKE_KEY}')  # tok-abcdef-123456")
    s.executed(2, f'key="{FAKE_KEY}"\n')
    s.call(f"leak {FAKE_KEY}", f"echo {FAKE_KEY}")
    s.finish(f"the key is {FAKE_KEY}")
    path = tmp_path / "t.jsonl"
    write(path, s.events)
    data = path.read_bytes()
    assert FAKE_KEY.encode() not in data and b"tok-abcdef-123456" not in data
    assert data.count(b"[redacted]") >= 5
    assert "SHORT_TOKEN" not in " ".join(secret_values())


def test_long_texts_are_cut_with_their_size_kept(tmp_path: Path) -> None:
    s = Stream().start()
    s.call("p" * 100_000, "a" * 100_000)
    s.answer("x" * 100_000, ready=True)
    write(tmp_path / "t.jsonl", s.events, max_field_chars=1000)
    started, finished, answer = read_trace(tmp_path / "t.jsonl")[1:]
    assert isinstance(started, ev.SubcallStarted) and isinstance(finished, ev.SubcallFinished)
    assert len(started.prompt) < 1100 and started.prompt_chars == 100_000
    assert "[100,000 characters in all; 99,000 cut from the middle]" in finished.answer
    assert isinstance(answer, ev.AnswerUpdated) and len(answer.content) == 100_000
    assert clip("short", 1000) == "short"


def test_writes_from_many_threads_stay_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TraceWriter(path)
    notes = [ev.Notice("r", message="n" * 5000) for _ in range(400)]
    workers = [threading.Thread(target=lambda part=notes[i::8]: [writer.handle(n) for n in part]) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    writer.close(RunResult())
    assert len(read_trace(path)) == 400


def test_a_trace_replays_to_the_same_final_tree(tmp_path: Path) -> None:
    events = scripted_run(120, failed=frozenset({5, 77})).events
    path = tmp_path / "t.jsonl"
    live = Console(file=StringIO(), width=80, color_system=None)
    tree, trace = TreeRenderer(live), TraceWriter(path)
    for event in events:
        tree.handle(event)
        trace.handle(event)
    tree.close(RunResult())
    trace.close(RunResult())
    replayed = Console(file=StringIO(), width=80, color_system=None)
    print_final_tree(read_trace(path), replayed)
    assert replayed.file.getvalue() == live.file.getvalue()  # type: ignore[attr-defined]
    again = Console(file=StringIO(), width=80, color_system=None)
    waits: list[float] = []
    replay_live(read_trace(path), again, speed=100, sleep=waits.append)
    assert again.file.getvalue() == live.file.getvalue()  # type: ignore[attr-defined]
    assert 0 < sum(waits) < 1 and max(waits) <= 2.0


def test_default_location_is_the_state_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_trace_path(Settings(), "abc") == tmp_path / "rlm" / "runs" / "abc.jsonl"


WRITER = """
import sys, time
from pathlib import Path
from rlm_cli.events import Notice
from rlm_cli.trace import TraceWriter
writer = TraceWriter(Path(sys.argv[1]))
print("ready", flush=True)
while True:
    writer.handle(Notice("r", message="x" * 20000))
"""


def test_a_trace_cut_by_sigint_is_still_valid_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    assert wait_until(lambda: path.read_bytes().count(b"\n") > 10)  # mid-stream, many lines written
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=10) != 0
    lines = path.read_text().splitlines()
    assert len(lines) > 10
    for line in lines:
        assert json.loads(line)["event"] == "Notice"
    assert len(read_trace(path)) == len(lines)
    assert os.path.getsize(path) == sum(len(line) + 1 for line in lines)


def test_only_a_trace_file_the_writer_made_is_discarded(tmp_path: Path) -> None:
    mine = TraceWriter(tmp_path / "new.jsonl")
    mine.close()
    mine.discard_if_empty()
    assert not (tmp_path / "new.jsonl").exists()
    existing = tmp_path / "kept.jsonl"
    existing.write_text("old run\n")
    theirs = TraceWriter(existing)  # replaced by this run, but never removed
    theirs.close()
    theirs.discard_if_empty()
    assert existing.exists() and existing.read_text() == ""


def test_an_unwritable_trace_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write the trace"):
        TraceWriter(tmp_path)


@pytest.mark.parametrize(
    "encode",
    [
        lambda key: base64.b64encode(f"Bearer {key}".encode()).decode(),
        lambda key: base64.urlsafe_b64encode(f"k={key};".encode()).decode(),
        lambda key: base64.b64encode(key.encode()).decode(),
        lambda key: key[::-1],
        lambda key: key.encode().hex(),
        lambda key: key.encode().hex().upper(),
    ],
    ids=["base64-in-header", "urlsafe-base64", "base64-alone", "reversed", "hex", "HEX"],
)
def test_keys_are_redacted_in_their_common_encodings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encode: Callable[[str], str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    path = tmp_path / "t.jsonl"
    leaked = encode(FAKE_KEY)
    write(path, [ev.CellExecuted("r", turn=1, cell=1, output=f"exfil: {leaked} done", output_chars=1,
                                 error=None, duration_s=0.0, timed_out=False, restarted=False)])
    data = path.read_text()
    assert leaked not in data and "[redacted]" in data
    assert "exfil: " in data and " done" in data  # only the secret's run is replaced


def test_a_second_run_on_the_same_trace_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    first = TraceWriter(path)
    with pytest.raises(InputError, match="being written by another run"):
        TraceWriter(path)
    first.handle(ev.Notice("r", message="still mine", level="info"))
    first.close()
    assert [event.message for event in read_trace(path)] == ["still mine"]  # type: ignore[attr-defined]
    TraceWriter(path).close()  # free again once the first run has closed it


def test_keys_from_the_keys_file_never_reach_a_trace(tmp_path: Path) -> None:
    from rlm_cli.keys import write_stored

    stored = "sk-stored-in-the-keys-file-42"
    write_stored({"anthropic": stored})
    s = scripted_run(finish=False)
    s.call("q", f"the key is {stored}")
    s.finish(f"done {stored}")
    path = tmp_path / "t.jsonl"
    write(path, s.events)
    data = path.read_text()
    assert stored not in data and data.count("[redacted]") >= 2
