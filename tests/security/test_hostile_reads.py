"""Hostile reads of the input, each with the outcome it must have.

| attack | outcome |
| --- | --- |
| a sub-LLM greps with a catastrophic pattern | stopped at the tool's time limit with an error text; the host's other threads run meanwhile |
| the same pattern from a cell (`context.grep`) | the cell times out (the worker restarts if it must), the next cell runs with the draft kept |
| a mapped input truncated during the run, then read by a sub-LLM tool | an error text ("the input changed during the run"), never SIGBUS |
| the same truncation, then read from a cell's `context` | InputChanged raised in the cell, the worker lives |
| an input appended during the run | `len(context)`, its text and `context.read(path)` all stay the ingested content |
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import rlm_cli.corpus.readers as readers
import rlm_cli.subtools as subtools
from rlm_cli.corpus import load_manifest
from rlm_cli.subtools import run_tool
from tests.unit.ingest_helpers import run, write_tree
from tests.unit.sandbox_helpers import SandboxFactory

ROOT = Path(__file__).resolve().parents[2]
EVIL_LINE = "a" * 40 + "b"  # `(a|aa)+$` backtracks through ~fib(40) paths on it


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # inputs named relatively keep relative paths


def test_the_reported_pattern_no_longer_freezes_a_sub_llm_grep(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.log": "ok\n" + "a" * 29 + "b\n"})
    corpus = run(["a.log"], tmp_path).corpus
    assert run_tool(corpus, "grep", json.dumps({"pattern": "(a+)+$"})) == "(no matches)"


def test_a_catastrophic_sub_llm_grep_is_stopped_and_the_host_runs_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subtools, "GREP_SECONDS", 3.0)
    write_tree(tmp_path, {"a.log": "ok\n" + EVIL_LINE + "\n"})
    corpus = run(["a.log"], tmp_path).corpus
    results: list[str] = []
    tool = threading.Thread(target=lambda: results.append(run_tool(corpus, "grep", json.dumps({"pattern": "(a|aa)+$"}))))
    tool.start()
    for _ in range(20):  # the "main loop": it gets the interpreter while the tool searches
        time.sleep(0.01)
    ran_meanwhile = tool.is_alive()
    tool.join(timeout=60)
    assert ran_meanwhile, "the main thread waited for the search to end"
    assert results == [
        f"Error: the search took longer than {subtools.GREP_SECONDS:g} s and was stopped; use a simpler or literal pattern"
    ]
    # The same call with a usable pattern still answers.
    assert run_tool(corpus, "grep", json.dumps({"pattern": "^ok$"})) == "a.log:1: ok"


def test_a_catastrophic_grep_from_a_cell_times_out_and_the_run_goes_on(tmp_path: Path, make: SandboxFactory) -> None:
    write_tree(tmp_path, {"a.log": "ok\n" + EVIL_LINE + "\n"})
    ingested = run(["a.log"], tmp_path)
    sandbox = make(
        manifest_path=ingested.manifest_path, readable_paths=tuple(Path(p) for p in ingested.roots), cell_timeout=2.0,
    )
    assert sandbox.execute("answer['content'] = 'draft'").error is None
    hit = sandbox.execute("context.grep(r'(a|aa)+$')")
    assert hit.timed_out, hit  # interrupted in place, or the worker restarted
    after = sandbox.execute("str(context.grep('^ok$'))")
    assert after.value_repr == repr("a.log:1: ok"), after
    assert sandbox.answer["content"] == "draft"


# Runs in a child process, so a SIGBUS shows as exit -7 instead of ending pytest.
TRUNCATE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from rlm_cli.corpus import load_manifest
    from rlm_cli.subtools import run_tool
    from tests.unit.ingest_helpers import run

    tmp, side = Path(sys.argv[1]), sys.argv[2]
    os.chdir(tmp)
    big = tmp / "big.log"
    big.write_text("".join(f"line {n:05d} " + "x" * 60 + "\\n" for n in range(1, 3001)))
    ingested = run(["big.log"], tmp, mmap_threshold=100)
    if side == "host":
        corpus = ingested.corpus
        assert run_tool(corpus, "read", json.dumps({"path": "big.log", "start_line": 2})).startswith("2: line 00002")
        os.truncate(big, 10)
        print(json.dumps([
            run_tool(corpus, "read", json.dumps({"path": "big.log", "start_line": 2900})),
            run_tool(corpus, "grep", json.dumps({"pattern": "line 02999"})),
        ]))
    else:
        context = load_manifest(ingested.manifest_path)
        assert context.mapped and len(context) > 0
        os.truncate(big, 10)
        try:
            context.grep("line 02999")
        except OSError as error:
            print(json.dumps([f"{type(error).__name__}: {error}"]))
    """
)


@pytest.mark.parametrize("side", ["host", "worker"])
def test_a_mapped_input_truncated_during_the_run_gives_an_error_not_sigbus(tmp_path: Path, side: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", TRUNCATE, str(tmp_path), side],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    results = json.loads(done.stdout)
    assert results, done.stdout
    big = tmp_path / "big.log"
    for result in results:
        assert f"the input changed during the run: {big} is now 10 bytes, was 216,000" in result, result
    if side == "worker":
        assert results[0].startswith("InputChanged: ")


A = "first line\nsecond line\n"
B = "other file\n"
JOINED = f"=== a.log ===\n{A}\n=== b.log ===\n{B}"


FORMS = ["in memory", "in memory, decoded from a map", "memory-mapped", "host view"]


@pytest.mark.parametrize("form", FORMS)
def test_an_input_appended_during_the_run_keeps_its_ingested_length_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    write_tree(tmp_path, {"a.log": A, "b.log": B})
    if form == "in memory, decoded from a map":
        monkeypatch.setattr(readers, "_MAP_FROM", 1)  # every non-empty file takes the mapping path
    ingested = run(["a.log", "b.log"], tmp_path, mmap_threshold=10 if form == "memory-mapped" else 1 << 20)
    with (tmp_path / "a.log").open("a") as handle:
        handle.write("appended after ingest\n" * 50)
    context = ingested.corpus if form == "host view" else load_manifest(ingested.manifest_path)
    assert context.mapped == (form == "memory-mapped")
    assert len(context) == len(JOINED)
    assert context[0 : len(context)] == JOINED
    assert context[0 : len(context) + 1000] == JOINED
    document = context.read("a.log")
    assert len(document) == len(A) and document[0 : len(document) + 100] == A
    assert [str(match) for match in context.grep("appended")] == []
