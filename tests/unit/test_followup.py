"""What a follow-up tells the root model of the earlier conversation, and what it refuses."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import pytest

from rlm_cli import events as ev
from rlm_cli.errors import InputError
from rlm_cli.followup import (
    HISTORY_CHARS,
    NO_SNAPSHOT,
    Continuation,
    check_input,
    earlier_block,
    load,
    prune_snapshots,
    restore,
    sources_and_question,
)
from rlm_cli.prompts import EARLIER_CONVERSATION
from rlm_cli.sandbox import Sandbox
from rlm_cli.sandbox.messages import Stored
from rlm_cli.sandbox.relay import Relay, SharedRepl


def _run(run_id: str, question: str, answer: str, cells: int) -> list[ev.Event]:
    events: list[ev.Event] = [ev.RunStarted(run_id, question=question, model="m", sub_model="m", depth=1, max_depth=1,
                                            parent_run_id=None, input={}, sources=["x"], budgets={})]
    for turn in range(1, cells + 1):
        events.append(ev.CellStarted(run_id, turn=turn, cell=1, code=f"# look\nrows_{turn} = context.grep('x' * 500)\nprint(rows_{turn})"))
        events.append(ev.CellExecuted(run_id, turn=turn, cell=1, output="o", output_chars=1234, error=None, duration_s=0.1))
    events.append(ev.RunFinished(run_id, stopped_by="answer", ready=True, answer=answer, iterations=cells, sub_calls=3,
                                 usage={}, elapsed_s=1.0, error=None))
    return events


def test_the_history_names_questions_cells_and_answers() -> None:
    continuation = Continuation(continues="r2", answer="B", conversation=[_run("r1", "first?", "A", 2), _run("r2", "second?", "B", 1)])
    block = earlier_block(continuation, kept=["rows_1"], lost=["f: cannot be pickled (PicklingError)"])
    assert "Question 1: first?" in block and "Question 2: second?" in block
    assert "- turn 2: `rows_2 = context.grep(" in block and "1,234 characters of output" in block
    assert "Answer (ready (2 turns, 3 sub-calls)):\nA" in block
    assert "Variables restored from the earlier questions: `rows_1`." in block
    assert "recompute them if you need them: f: cannot be pickled (PicklingError)." in block
    assert "not yet to this one" in block.replace("\n", " ")


def test_the_history_stays_bounded_however_long_the_conversation() -> None:
    conversation = [_run(f"r{n}", "why? " * 400, "answer " * 2000, 40) for n in range(5)]
    block = earlier_block(Continuation(continues="r4", answer="", conversation=conversation), kept=None, lost=[])
    template = len(EARLIER_CONVERSATION) + 200
    assert len(block) <= HISTORY_CHARS + template
    assert "more cells" in block and "still defined" in block


def test_a_changed_input_is_refused_with_both_sizes() -> None:
    continuation = Continuation(continues="r1", answer="", conversation=[], input={"documents": 3, "bytes": 100, "skipped": 0})
    check_input(continuation, {"documents": 3, "bytes": 100, "skipped": 1})  # what was skipped may differ
    with pytest.raises(InputError, match=r"3 documents, 100 bytes then; 4 documents, 120 bytes now"):
        check_input(continuation, {"documents": 4, "bytes": 120, "skipped": 0})


class _Repl:
    """A sandbox stand-in: which worker runs, and the snapshots it was asked to load."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.loaded: list[Path] = []

    def load_variables(self, source: Path) -> Stored:
        self.loaded.append(source)
        return Stored(kept=["notes"], lost=[])


def test_a_chat_repl_keeps_its_variables_unless_its_worker_was_replaced(tmp_path: Path) -> None:
    continuation = Continuation(continues="r1", answer="A", conversation=[_run("r1", "first?", "A", 1)],
                                snapshot=tmp_path / "variables.pickle")
    shared = SharedRepl(cast(Sandbox, None), Relay(), session_id="s1", questions=1, worker=1)

    same = _Repl(worker=1)
    lineage = restore(cast(Sandbox, same), ["x"], continuation, shared)
    assert same.loaded == [] and lineage.earlier is not None and "still defined" in lineage.earlier
    assert lineage.chat_session == "s1" and lineage.continues == "r1"

    replaced = _Repl(worker=2)  # Ctrl-C killed the worker: a new one loads the last snapshot
    lineage = restore(cast(Sandbox, replaced), ["x"], continuation, shared)
    assert replaced.loaded == [tmp_path / "variables.pickle"]
    assert lineage.earlier is not None and "Variables restored from the earlier questions: `notes`." in lineage.earlier


def test_a_follow_up_takes_no_other_input(tmp_path: Path) -> None:
    continuation = Continuation(continues="r1", answer="", conversation=[], sources=["-"], source_paths=["-"])
    with pytest.raises(InputError, match="--paths-from does not go with it"):
        sources_and_question(continuation, ["q?"], stdin_is_tty=False, paths_from="list.txt")
    with pytest.raises(InputError, match="read its input from stdin: pipe the same input in again"):
        sources_and_question(continuation, ["q?"], stdin_is_tty=True)
    assert sources_and_question(continuation, ["-", "q?"], stdin_is_tty=False) == (["-"], "q?")


def _snapshot(directory: Path, run_id: str, size: int, age: float) -> Path:
    state = directory / f"{run_id}.state"
    state.mkdir(parents=True)
    (state / "variables.pickle").write_bytes(b"x" * size)
    stamp = 1_700_000_000 - age
    os.utime(state, (stamp, stamp))
    return state


def test_old_snapshots_go_first_to_stay_under_the_cap(tmp_path: Path) -> None:
    newest = _snapshot(tmp_path, "r3", 600, age=0)
    middle = _snapshot(tmp_path, "r2", 300, age=10)
    oldest = _snapshot(tmp_path, "r1", 300, age=20)
    assert prune_snapshots(tmp_path, cap=1000) == [oldest]
    assert newest.is_dir() and middle.is_dir() and not oldest.exists()
    assert prune_snapshots(tmp_path, cap=100) == [middle]  # the newest stays, even over the cap
    assert newest.is_dir()


def test_a_follow_up_of_a_run_without_variables_is_told_so(tmp_path: Path) -> None:
    from rlm_cli.trace import TraceWriter

    trace = TraceWriter(tmp_path / "r1.jsonl", env={})
    for event in _run("r1", "first?", "A", 1):
        trace.handle(event)
    trace.close()
    continuation = load(tmp_path, "r1")
    assert continuation.snapshot is None
    assert continuation.lost == [NO_SNAPSHOT]
    assert "snapshots_size" in earlier_block(continuation, kept=[], lost=continuation.lost)
