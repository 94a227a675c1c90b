"""The REPL against each real isolation mode: persistence, the contract, output, timeouts,
worker deaths and sub-calls. Every test ends by checking that no process was left behind."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlm_cli.errors import SandboxError
from tests.unit.sandbox_helpers import REAL_MODES, FakeBroker, SandboxFactory, sandbox_factory


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture(params=REAL_MODES)
def make(request: pytest.FixtureRequest, broker: FakeBroker) -> Iterator[SandboxFactory]:
    yield from sandbox_factory(request.param, broker)


def test_mode_in_use_is_the_one_asked_for(make: SandboxFactory) -> None:
    assert make().mode == make.mode


def test_a_worker_that_cannot_start_says_why(
    make: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the scratch dir would be made
    with pytest.raises(SandboxError, match=r"did not start: FileNotFoundError: .*missing\.json"):
        make(manifest_path=tmp_path / "missing.json")
    assert list(temp.iterdir()) == []


def test_variables_persist_across_cells(make: SandboxFactory) -> None:
    sandbox = make()
    first = sandbox.execute("x = 41\ndef twice(n):\n    return 2 * n")
    second = sandbox.execute("twice(x + 1)")
    assert first.variables == ["x", "twice"]
    assert second.value_repr == "84"
    assert second.error is None


def test_trailing_expression_repr(make: SandboxFactory) -> None:
    sandbox = make()
    assert sandbox.execute("'ab' * 2").value_repr == "'abab'"
    assert sandbox.execute("y = 3").value_repr is None
    assert sandbox.execute("None").value_repr is None
    assert sandbox.execute("print('hi')\n[1, 2]").stdout == "hi\n"


def test_nothing_printed_is_said_so(make: SandboxFactory) -> None:
    text = make().execute("z = 1").for_model(1000)
    assert text == "(no output: print() what you want to see)"


def test_exception_shows_only_the_models_frames(make: SandboxFactory) -> None:
    sandbox = make()
    sandbox.execute("def check(v):\n    if v > 1:\n        raise ValueError(f'too big: {v}')")
    result = sandbox.execute("import json\njson.loads('{}')\ncheck(5)")
    assert result.error is not None
    assert result.error.startswith("Traceback (most recent call last):")
    assert '"<cell 2>", line 3' in result.error
    assert '"<cell 1>", line 3, in check' in result.error
    assert result.error.endswith("ValueError: too big: 5")
    assert "rlm_cli" not in result.error and "repl.py" not in result.error


def test_syntax_error_is_reported(make: SandboxFactory) -> None:
    result = make().execute("for x in range(3) print(x)")
    assert result.error is not None and "SyntaxError" in result.error
    assert "Traceback" not in result.error


def test_sys_exit_does_not_end_the_repl(make: SandboxFactory) -> None:
    sandbox = make()
    assert "SystemExit: 3" in (sandbox.execute("import sys; sys.exit(3)").error or "")
    assert sandbox.execute("1 + 1").value_repr == "2"


def test_contract_names_are_restored_and_answer_edits_kept(make: SandboxFactory) -> None:
    sandbox = make()
    result = sandbox.execute(
        "context = 'mine'\nllm_query = None\ndel FINAL\nSHOW_VARS = 1\nanswer['content'] = 'draft'"
    )
    assert result.notice is not None
    for name in ("context", "llm_query", "FINAL", "SHOW_VARS"):
        assert f"`{name}`" in result.notice
    assert result.answer == {"content": "draft", "ready": False}
    check = sandbox.execute("print(repr(context), callable(llm_query), callable(FINAL))")
    assert check.stdout == "'' True True\n"
    replaced = sandbox.execute("answer = {'content': 'whole', 'ready': True}")
    assert replaced.answer == {"content": "whole", "ready": True}
    broken = sandbox.execute("answer = 'not a dict'")
    assert "`answer`" in (broken.notice or "")
    assert sandbox.execute("answer").value_repr == "{'content': 'whole', 'ready': True}"
    assert sandbox.answer == {"content": "whole", "ready": True}


def test_final_final_var_and_show_vars(make: SandboxFactory) -> None:
    sandbox = make()
    sandbox.execute("total = 12\nnames = ['a', 'b']")
    shown = sandbox.execute("SHOW_VARS()").value_repr or ""
    assert "total: int" in shown and "names: list, 2 items" in shown
    assert sandbox.execute("listing = SHOW_VARS()\nprint(listing.upper())").stdout.startswith("TOTAL: INT")
    missing = sandbox.execute("FINAL_VAR('totl_sum')")
    assert "NameError" in (missing.error or "") and "'totl_sum'" in (missing.error or "")
    assert sandbox.execute("FINAL_VAR('total')").answer == {"content": "12", "ready": True}
    assert sandbox.execute("FINAL_VAR(names)").answer["content"] == "['a', 'b']"
    assert sandbox.execute("FINAL(7 * 6)").answer == {"content": "42", "ready": True}


def test_context_comes_from_the_manifest(make: SandboxFactory, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("alpha\n")
    manifest = tmp_path / "manifest.json"
    entry = {"path": "a.txt", "file": str(corpus / "a.txt"), "encoding": "utf-8"}
    manifest.write_text(json.dumps({"version": 1, "documents": [entry]}))
    sandbox = make(manifest_path=manifest, readable_paths=(corpus,))
    result = sandbox.execute("print('alpha' in context.text)\nlen(context) == len(str(context)) > 0")
    assert result.error is None, result.error
    assert result.stdout == "True\n"
    assert result.value_repr == "True"


def test_a_gigabyte_of_print_is_capped(make: SandboxFactory) -> None:
    sandbox = make(capture_limit=100_000)
    started = time.monotonic()
    result = sandbox.execute("line = 'x' * (1 << 20)\nfor _ in range(1024):\n    print(line)")
    assert time.monotonic() - started < 20
    assert result.stdout_chars == 1024 * ((1 << 20) + 1)
    assert len(result.stdout) < 101_000
    shown = result.for_model(1000)
    assert "1,073,742,848 characters in all" in shown
    assert len(shown) < 1200
    assert result.notice is not None and "cut" in result.notice


def test_writes_to_the_raw_file_descriptors_are_capped(make: SandboxFactory) -> None:
    sandbox = make(capture_limit=50_000)
    result = sandbox.execute("import os\nfor _ in range(64):\n    os.write(1, b'y' * (1 << 20))\nos.write(2, b'raw err')")
    assert result.stdout_chars == 64 << 20
    assert len(result.stdout) < 51_000
    assert result.stderr == "raw err"


def test_raw_writes_belong_to_the_cell_that_made_them_once(make: SandboxFactory) -> None:
    sandbox = make()
    cells = ["import os; os.write(1, b'first')", "pass", "os.write(2, b'second')", "print('third')", "pass"]
    seen = [(result.stdout, result.stderr) for result in map(sandbox.execute, cells)]
    assert seen == [("first", ""), ("", ""), ("", "second"), ("third\n", ""), ("", "")]


def test_endless_loop_is_interrupted_and_the_repl_lives_on(make: SandboxFactory) -> None:
    sandbox = make(cell_timeout=0.5)
    sandbox.execute("kept = 'yes'")
    result = sandbox.execute("while True:\n    pass")
    assert result.timed_out and not result.restarted
    assert "CellTimeout" in (result.error or "")
    assert "stopped after 0.5 s" in (result.notice or "")
    assert sandbox.execute("kept").value_repr == "'yes'"


def test_a_cell_ignoring_the_interrupt_is_killed(make: SandboxFactory) -> None:
    sandbox = make(cell_timeout=0.5)
    sandbox.execute("FINAL('partial')")
    started = time.monotonic()
    result = sandbox.execute("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass")
    assert time.monotonic() - started < 3
    assert result.timed_out and result.restarted
    assert sandbox.execute("1 + 1").value_repr == "2"
    assert sandbox.answer == {"content": "partial", "ready": True}


@pytest.mark.parametrize(
    "fatal",
    ["' ' * 10**12", "import os\nos._exit(1)", "import os\nos.kill(os.getpid(), 9)"],
    ids=["huge-allocation", "os-exit", "sigkill"],
)
def test_worker_death_restarts_it_keeping_answer_and_context(make: SandboxFactory, fatal: str) -> None:
    sandbox = make(memory_limit=2 * 1024**3)
    sandbox.set_variable("history", [{"turn": 1}])
    sandbox.execute("answer['content'] = 'so far'\nlost = 1")
    result = sandbox.execute(fatal)
    if result.restarted:
        assert "variables were lost" in (result.notice or "")
        assert result.error is not None and "WorkerDied" in result.error
    else:  # the allocation failed cleanly inside the worker
        assert "MemoryError" in (result.error or "")
    after = sandbox.execute("print(answer, repr(context), history, 'lost' in globals())")
    lost = "True" if not result.restarted else "False"
    assert after.stdout == f"{{'content': 'so far', 'ready': False}} '' [{{'turn': 1}}] {lost}\n"
    assert after.answer["content"] == "so far"


def test_death_report_says_how(make: SandboxFactory) -> None:
    sandbox = make()
    result = sandbox.execute("import os\nos._exit(7)")
    assert result.restarted
    assert "exit status 7" in (result.error or "")
    killed = sandbox.execute("import os\nos.kill(os.getpid(), 9)")
    assert "SIGKILL" in (killed.error or "")


def test_repeated_deaths_end_with_a_sandbox_error(make: SandboxFactory) -> None:
    sandbox = make(max_restarts=1)
    sandbox.execute("FINAL('kept')")
    assert sandbox.execute("import os\nos._exit(1)").restarted
    with pytest.raises(SandboxError, match="2 times in a row"):
        sandbox.execute("import os\nos._exit(1)")
    assert sandbox.answer == {"content": "kept", "ready": True}


def test_a_good_cell_resets_the_failure_count(make: SandboxFactory) -> None:
    sandbox = make(max_restarts=1)
    for _ in range(3):
        assert sandbox.execute("import os\nos._exit(1)").restarted
        assert sandbox.execute("1").value_repr == "1"


def test_llm_query_and_rlm_query_reach_the_broker(make: SandboxFactory, broker: FakeBroker) -> None:
    sandbox = make()
    result = sandbox.execute(
        "a = llm_query('hello', model='small', tools=['grep'])\n"
        "b = rlm_query('dig', context='x' * 10)\n"
        "print(a); print(b)"
    )
    assert result.stdout == "answer to hello\nchild run on 10 chars: answer to dig\n"
    assert broker.calls == [
        ("llm_query", "hello", {"model": "small", "tools": ["grep"]}),
        ("rlm_query", "dig", {"context": "x" * 10}),
    ]


def test_a_batch_is_one_message_to_the_broker(make: SandboxFactory, broker: FakeBroker) -> None:
    sandbox = make()
    result = sandbox.execute("llm_batch(['one', 'two', 'three'])")
    again = sandbox.execute("llm_query_batched(['four'], model='m')")
    assert result.value_repr == "['answer to one', 'answer to two', 'answer to three']"
    assert again.value_repr == "['answer to four']"
    assert broker.calls == [
        ("llm_batch", ["one", "two", "three"], {"model": None, "tools": None}),
        ("llm_batch", ["four"], {"model": "m", "tools": None}),
    ]


def test_sub_call_failures_reach_the_cell(make: SandboxFactory) -> None:
    sandbox = make()
    single = sandbox.execute("llm_query('fail now')")
    assert "RuntimeError: llm_query failed: RuntimeError: provider refused 'fail now'" in (single.error or "")
    items = sandbox.execute("llm_batch(['ok', 'fail this'])")
    assert items.value_repr == "['answer to ok', \"Error: provider refused 'fail this'\"]"
    whole = sandbox.execute("llm_batch(['a', 'fail the whole batch'])")
    assert whole.value_repr == "['Error: RuntimeError: batch refused', 'Error: RuntimeError: batch refused']"


def test_prompts_must_be_text(make: SandboxFactory, broker: FakeBroker) -> None:
    sandbox = make()
    assert "TypeError: llm_query takes prompts as str, not int" in (sandbox.execute("llm_query(3)").error or "")
    assert "use llm_batch" in (sandbox.execute("llm_query(['a', 'b'])").error or "")
    assert "use llm_query" in (sandbox.execute("llm_batch('abc')").error or "")
    assert sandbox.execute("llm_batch([])").value_repr == "[]"
    assert broker.calls == []


def test_sub_calls_from_threads_run_in_parallel(make: SandboxFactory, broker: FakeBroker) -> None:
    broker.delay = 0.4
    sandbox = make()
    result = sandbox.execute(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    got = list(pool.map(llm_query, ['a', 'b', 'c', 'd']))\n"
        "got"
    )
    assert result.value_repr == "['answer to a', 'answer to b', 'answer to c', 'answer to d']"
    assert result.duration_s < 1.2


def test_awaited_sub_calls_run_under_the_sandbox_policy(make: SandboxFactory, broker: FakeBroker) -> None:
    sandbox = make()
    result = sandbox.execute(
        "import asyncio\nfirst = await llm_query('a')\n"
        "rest = await asyncio.gather(*[llm_query(p) for p in ['b', 'c']])\n[first, *rest, await rlm_query_batched(['d'])]"
    )
    assert result.error is None, result.error
    assert result.value_repr == "['answer to a', 'answer to b', 'answer to c', ['child run on 0 chars: answer to d']]"


def test_time_waiting_for_sub_calls_is_not_cell_time(make: SandboxFactory, broker: FakeBroker) -> None:
    broker.delay = 0.8
    sandbox = make(cell_timeout=0.5)
    result = sandbox.execute("llm_query('slow')")
    assert result.error is None and not result.timed_out
    assert result.value_repr == "'answer to slow'"


def test_set_variable_binds_json_values(make: SandboxFactory) -> None:
    sandbox = make()
    sandbox.set_variable("history", [{"role": "user", "content": "q"}])
    assert sandbox.execute("history[0]['content']").value_repr == "'q'"
    with pytest.raises(ValueError):
        sandbox.set_variable("context", "x")
    with pytest.raises(TypeError):
        sandbox.set_variable("blob", object())


def test_a_sub_call_can_run_a_child_sandbox(make: SandboxFactory, broker: FakeBroker) -> None:
    """rlm_query runs a child RLM with its own REPL, started from the thread serving the call."""

    def rlm_query(prompt: str, context: str | None = None) -> str:
        inner = make()
        inner.set_variable("question", prompt)
        inner.execute("FINAL(question.upper() + ' ' + llm_query('x'))")
        inner.close()
        return str(inner.answer["content"])

    broker.rlm_query = rlm_query  # type: ignore[method-assign]
    result = make().execute("rlm_query('deeper')")
    assert result.value_repr == "'DEEPER answer to x'"
