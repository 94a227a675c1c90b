"""End to end: the real `rlm ask` process against the scripted fake provider."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e import forkserver
from tests.e2e.helpers import FAKE_KEY, FAST_RETRIES, model_flags, rlm
from tests.fakes.provider import FakeProvider, Request, code, script
from tests.unit.sandbox_helpers import wait_until

SECRET_LINE = "ERROR 03:12 deploy failed: disk quota exceeded on db-7"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A small directory of logs with one line that matters."""
    root = tmp_path / "logs"
    root.mkdir()
    for day in range(3):
        lines = [f"INFO 0{day}:{minute:02d} request served in {minute} ms" for minute in range(60)]
        if day == 2:
            lines.insert(40, SECRET_LINE)
        (root / f"day{day}.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_multi_turn_run_greps_chunks_fans_out_and_answers(provider: FakeProvider, logs: Path) -> None:
    provider.sub_rule = lambda request: "quota" if "quota" in request.last_user else "nothing"
    provider.root_script = script(
        code("print(len(context), context.files)", "hits = context.grep('ERROR')", "print(hits)"),
        code("pieces = context.chunks(2000)", "found = llm_batch([f'Any failure? {p}' for p in pieces])",
             "print(len(pieces), found.count('quota'))"),
        code("answer['content'] = f\"{hits[0].path}:{hits[0].line_no}: quota ({found.count('quota')} chunk)\"",
             "answer['ready'] = True"),
    )
    done = rlm(["ask", "logs", "why did the deploy fail?", *model_flags(provider)], cwd=logs.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "logs/day2.log:41: quota (1 chunk)\n"  # paths as the user wrote them
    roots, subs = provider.root_requests(), provider.sub_requests()
    assert len(roots) == 3
    chunk_count = int(roots[2].last_user.split()[0])
    assert len(subs) == chunk_count > 1
    assert sum("quota" in r.last_user for r in subs) == 1
    # The root model saw the grep result, never the input itself.
    assert SECRET_LINE in roots[1].last_user
    assert all("served in 17 ms" not in r.system + r.messages[1]["content"] for r in roots)


@pytest.mark.parametrize(
    "finish",
    [
        code("FINAL('forty-two')"),
        code("result = 'forty-two'", "FINAL_VAR('result')"),
        code("answer['content'] = 'forty-two'", "answer['ready'] = True"),
        "The answer is verified.\nFINAL(forty-two)",
        "FINAL_VAR(result)",
        "The REPL printed it, so:\n\n**FINAL(result)**",  # a bound name in prose: its value
        "```python\nSUBMIT(answer=result)\n```",
        '<tool_call>\n{"name": "python", "arguments": {"code": "FINAL_VAR(result)"}}\n</tool_call>',
        "<think>Maybe FINAL(wrong)?</think>\nFINAL_VAR('result')",
    ],
)
def test_every_way_to_finish(provider: FakeProvider, logs: Path, finish: str) -> None:
    provider.root_script = script(code("result = 'forty-two'", "print(len(context))"), finish)
    done = rlm(["ask", str(logs), "what is it?", *model_flags(provider)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "forty-two\n"
    assert len(provider.root_requests()) == 2


def test_prose_final_next_to_code_waits_for_the_output(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(
        code("print(context.count('ERROR'))"),
        code("n = context.count('INFO')", "print(n)") + "\nFINAL(there are 3 INFO lines)",
        "FINAL(there are 180 INFO lines)",
    )
    done = rlm(["ask", str(logs), "how many INFO lines?", *model_flags(provider)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "there are 180 INFO lines\n"
    third = provider.root_requests()[2].last_user
    assert "180" in third and "not accepted" in third


def test_replies_written_the_way_real_models_write_them(provider: FakeProvider, logs: Path) -> None:
    provider.sub_rule = lambda request: "disk quota" if "quota" in request.last_user else "no idea"
    provider.root_script = script(
        "I'll start by exploring the context.\r\n\r\n```Python\r\n# sub-LLMs may wrap JSON in ```json fences\r\n"
        "print(len(context), context.files)\r\n```\r\n",
        "Let me search for errors and ask about them.\n``` python\nerrors = [m.line for m in context.grep('ERROR')]\n"
        "cause = await llm_query(f'Why did it fail? {errors}')\nprint(errors, cause)\n```\nExpected output:\n```\n['ERROR ...']\n```",
        "<think>The cause is the quota.</think>\nThe REPL shows the cause.\n\nFINAL(cause + ': ' + errors[0])",
    )
    done = rlm(["ask", str(logs), "why did the deploy fail?", *model_flags(provider)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"disk quota: {SECRET_LINE}\n"
    roots = provider.root_requests()
    assert "day2.log" in roots[1].last_user and SECRET_LINE in roots[2].last_user
    assert "Output of block" not in roots[2].last_user  # the bare output sample did not run
    assert len(provider.sub_requests()) == 1


def test_ready_on_the_first_turn_is_not_accepted(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("FINAL('guess')"), code("FINAL('checked')"))
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)])
    assert done.stdout == "checked\n"
    assert "before you had seen any output" in provider.root_requests()[1].last_user


def test_reply_without_code_gets_a_nudge(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script("Let me think about it.", code("print(1)"), code("FINAL('ok')"))
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)])
    assert done.returncode == 0 and done.stdout == "ok\n"
    assert "no ```repl code block" in provider.root_requests()[1].last_user


def test_rlm_query_at_depth_2_runs_a_child_loop(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    def root(request: Request) -> str:
        if "count the lines" in request.messages[1]["content"]:  # the child run's question
            return [code("print(len(context.splitlines()))"), code("FINAL(str(len(context.splitlines())) + ' lines')")][request.turn]
        return [
            code("sub = rlm_query('count the lines', context='a\\nb\\nc')", "print(sub)"),
            code("FINAL('child says: ' + sub)"),
        ][request.turn]

    provider.root_script = root
    trace = tmp_path / "trace.jsonl"
    done = rlm(["ask", str(logs), "q?", "--depth", "2", "--trace", str(trace), *model_flags(provider)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "child says: 3 lines\n"
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    starts = [e for e in events if e["event"] == "RunStarted"]
    assert len(starts) == 2 and starts[1]["parent_run_id"] == starts[0]["run_id"] and starts[1]["depth"] == 2
    child_turns = [r for r in provider.root_requests() if "count the lines" in r.messages[1]["content"]]
    assert child_turns and {r.model for r in child_turns} == {"sub"}  # the sub-model drives a child
    finished = next(e for e in events if e["event"] == "SubcallFinished" and e["child_run_id"])
    assert finished["prompt_tokens"] > 0 and finished["completion_tokens"] > 0


def test_rlm_query_at_depth_1_is_a_plain_sub_call(provider: FakeProvider, logs: Path) -> None:
    provider.sub_rule = lambda request: f"plain:{request.last_user.count('x')}"
    provider.root_script = script(code("print(rlm_query('count', context='xxx'))"), code("FINAL('done')"))
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)])
    assert done.returncode == 0
    assert "plain:3" in provider.root_requests()[1].last_user


@pytest.mark.parametrize(
    ("flags", "stopped_by"),
    [
        (["--max-iterations", "2"], "max_iterations"),
        (["--max-sub-calls", "2"], "max_sub_calls"),
        (["--timeout", "2"], "timeout"),
    ],
)
def test_each_budget_stops_with_exit_3_and_a_partial_answer(provider: FakeProvider, logs: Path, flags: list[str], stopped_by: str) -> None:
    work = code("answer['content'] = 'draft: quota?'", "print(llm_batch(['a', 'b', 'c']))", "import time; time.sleep(0.4)")
    provider.root_script = script(work, work, work, after=work, on_limit="partial: probably the disk quota")
    done = rlm(["ask", str(logs), "why?", "--json", *flags, *model_flags(provider)])
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    assert result["stopped_by"] == stopped_by
    assert result["ready"] is False
    assert result["answer"] == "partial: probably the disk quota"
    assert "must stop now" in provider.root_requests()[-1].last_user


def test_a_token_budget_holds_and_the_draft_stands_when_the_last_call_does_not_fit(provider: FakeProvider, logs: Path) -> None:
    work = code("answer['content'] = 'draft: quota?'", "print(llm_batch(['a', 'b', 'c']))")
    provider.root_script = script(work, after=work, on_limit="never asked")
    done = rlm(["ask", str(logs), "why?", "--json", "--max-tokens", "12000", *model_flags(provider)])
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    assert (result["stopped_by"], result["answer"]) == ("max_tokens", "draft: quota?")
    total = result["usage"]["total"]
    assert total["prompt_tokens"] + total["completion_tokens"] <= 12000
    assert all("must stop now" not in r.last_user for r in provider.root_requests())


def test_a_cost_budget_holds_with_sixteen_calls_in_flight(provider: FakeProvider, logs: Path) -> None:
    from rlm_cli.llm import LLMClient

    prompt_price, output_price = LLMClient().price("openai/gpt-4o-mini") or (0.0, 0.0)
    worst = 40_000 / 3 * prompt_price + 1000 * output_price  # one sub-call: its prompt, 1,000 tokens out
    provider.overlap = 12
    work = code("answer['content'] = 'draft'", "print(len(llm_batch([f'{i} ' + 'x' * 40_000 for i in range(48)])))")
    provider.root_script = script(work, after=work)
    flags = ["--model", "openai/gpt-4o-mini", "--api-base", provider.url, "--concurrency", "16", "--max-cost", "0.05"]
    done = rlm(["ask", str(logs), "why?", "--json", *flags], env={"RLM_MAX_OUTPUT_TOKENS": "1000"})
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    assert result["stopped_by"] == "max_cost"
    assert 0.05 - worst < result["usage"]["total"]["cost_usd"] <= 0.05 + worst
    assert provider.max_in_flight >= 12  # the budget held them all at once, not one by one
    assert len(provider.sub_requests()) < 48  # the calls that did not fit were never sent


def test_a_429_storm_is_ridden_out(provider: FakeProvider, logs: Path) -> None:
    provider.fail(status=429, retry_after=0.05, times=5)
    provider.root_script = script(code("print(llm_query('hi'))"), code("FINAL('fine')"))
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)], env=FAST_RETRIES)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fine\n"
    assert sum(r.status == 429 for r in provider.requests) == 5


def test_permanent_500_is_exit_5_with_the_partial_answer(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("answer['content'] = 'half done'"))
    provider.fail(status=500, times=None, skip=1)  # the first turn works, then the provider is down
    done = rlm(["ask", str(logs), "q?", "--json", *model_flags(provider)], env={**FAST_RETRIES, "RLM_MAX_RETRIES": "2"})
    assert done.returncode == 5, done.stderr
    result = json.loads(done.stdout)
    assert result["stopped_by"] == "error" and "500" in result["error"]
    assert result["answer"] == "half done"
    assert [r.status for r in provider.requests] == [200, 500, 500, 500]


def test_missing_key_is_exit_4_naming_the_variable(logs: Path, isolated_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = forkserver.run(["ask", str(logs), "q?", "--model", "openai/gpt-4o-mini"], input="", env=env, cwd=None, timeout=60)
    assert done.returncode == 4
    assert "OPENAI_API_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    runs = isolated_env / "state" / "rlm" / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []  # nothing ran: no empty trace is kept


def test_sigint_gives_130_the_partial_answer_and_no_orphans(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    provider.root_script = script(code(
        "import os", "answer['content'] = f'partial from {os.getcwd()}'", "llm_query('the answer is set')",
        "import time; time.sleep(60)",
    ))
    trace = tmp_path / "trace.jsonl"
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "NO_COLOR": "1"}
    process = forkserver.Forked(
        ["ask", str(logs), "q?", "--json", "--trace", str(trace), *model_flags(provider)],
        stdin=subprocess.DEVNULL, env=env, cwd=None,
    )
    # the cell has set the answer and is sleeping once its sub-call was answered
    assert wait_until(lambda: any(r.finished for r in provider.sub_requests()), timeout=30)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert stdout is not None
    result = json.loads(stdout)
    assert result["stopped_by"] == "interrupt"
    assert result["answer"].startswith("partial from")
    assert result["iterations"] == 1
    scratch = result["answer"].split()[-1]  # the worker's private working directory
    assert wait_until(lambda: processes_using(scratch) == [], timeout=10)
    lines = trace.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    assert json.loads(lines[-1])["event"] == "RunFinished"


def processes_using(path: str) -> list[int]:
    """Processes whose working directory or command line mentions `path`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(path) or path in cmdline:
            found.append(int(entry.name))
    return found


def test_json_contract_keys(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("print(1)"), code("FINAL('ok')"))
    done = rlm(["ask", str(logs), "q?", "--json", *model_flags(provider)])
    result = json.loads(done.stdout)
    assert set(result) >= {"answer", "ready", "schema", "stopped_by", "model", "sub_model", "iterations",
                           "sub_calls", "depth", "usage", "elapsed_s", "input", "trace", "error"}
    assert result["schema"] == 1 and result["ready"] is True and result["stopped_by"] == "answer"
    assert set(result["usage"]) >= {"root", "sub", "total"}
    assert set(result["usage"]["root"]) == {"prompt_tokens", "completion_tokens", "cost_usd", "cached_input_tokens"}
    assert set(result["usage"]["cached"]) == {"calls", "prompt_tokens", "completion_tokens", "cost_usd", "cached_input_tokens"}
    assert result["usage"]["root"]["cost_usd"] is None  # the fake model has no price
    assert result["input"]["documents"] == 3 and result["iterations"] == 2
    trace = Path(result["trace"]).read_text()
    assert FAKE_KEY not in trace
    events = [json.loads(line) for line in trace.splitlines()]
    # Enough to audit what the root model was sent: its system prompt and each turn's new message.
    assert "persistent Python REPL" in events[0]["system_prompt"]
    turns = [e for e in events if e["event"] == "TurnStarted"]
    assert "The question:\nq?" in turns[0]["message"] and turns[1]["message"].startswith("1\n")


def test_stdin_is_a_source(provider: FakeProvider) -> None:
    provider.root_script = script(code("print(context.count('needle'))"), code("FINAL(str(context.count('needle')))"))
    done = rlm(["ask", "-", "how many needles?", *model_flags(provider)], input="hay needle hay\nneedle\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2\n"


def test_a_real_runs_trace_replays_to_the_same_final_tree(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    provider.root_script = script(
        code("print(context.files)"),
        code("found = llm_batch(['a', 'b', 'c'])", "print(found)"),
        code("FINAL('done')"),
    )
    trace = tmp_path / "trace.jsonl"
    env = {"COLUMNS": "100"}
    done = rlm(["ask", "logs", "q?", "--progress", "tree", "--trace", str(trace), *model_flags(provider)], cwd=logs.parent, env=env)
    assert done.returncode == 0, done.stderr
    replayed = rlm(["replay", str(trace)], env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert "llm_batch" in replayed.stdout and "turn 3" in replayed.stdout
    assert replayed.stdout.strip() in done.stderr


def test_long_histories_are_compacted_and_kept_in_the_repl(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    def root(request: Request) -> str:
        if "Summarise the work so far" in request.last_user:
            return "summary: counted INFO lines, still stepping"
        found = re.search(r"steps=(\d+)", request.last_user)
        done = int(found.group(1)) if found else 0
        if done >= 8:
            return code("FINAL(f'{len(history)} messages in history')")
        return code(f"print('steps={done + 1}', 'x' * 3000)")

    provider.root_script = root
    trace = tmp_path / "trace.jsonl"
    done = rlm(["ask", str(logs), "q?", "--trace", str(trace), *model_flags(provider)], env={"RLM_ROOT_CONTEXT_WINDOW": "4000"})
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    compactions = [e for e in events if e["event"] == "HistoryCompacted"]
    assert compactions and all(e["chars_after"] < e["chars_before"] for e in compactions)
    turns = [r for r in provider.root_requests() if "Summarise the work so far" not in r.last_user]
    assert max(r.prompt_chars for r in turns) < 4000 * 4  # never past the window
    assert "summary: counted INFO lines" in turns[-1].messages[1]["content"]
    assert int(done.stdout.split()[0]) >= 10  # the REPL's `history` holds the whole transcript


@pytest.mark.parametrize(("mode", "said"), [("none", "unisolated"), ("process", "sandbox: process mode")])
def test_weaker_sandboxes_are_announced(provider: FakeProvider, logs: Path, mode: str, said: str) -> None:
    provider.root_script = script(code("print(1)"), code("FINAL('ok')"))
    done = rlm(["ask", str(logs), "q?", "--sandbox", mode, *model_flags(provider)])
    assert done.returncode == 0 and done.stdout == "ok\n"
    assert said in done.stderr


def test_ready_with_an_empty_answer_is_not_accepted(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("print(1)"), code("answer['ready'] = True"), code("FINAL('now with content')"))
    done = rlm(["ask", str(logs), "q?", *model_flags(provider)])
    assert done.returncode == 0 and done.stdout == "now with content\n"
    assert "answer[\"content\"] is empty" in provider.root_requests()[2].last_user


def test_paths_from_stdin_with_nul_separators(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("print(context.files)"), code("FINAL(' '.join(context.files))"))
    listed = f"{logs / 'day0.log'}\0{logs / 'day2.log'}\0"
    done = rlm(["ask", "--paths-from", "-", "which files?", *model_flags(provider)], input=listed)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{logs / 'day0.log'} {logs / 'day2.log'}\n"


def test_a_slow_cell_cannot_outlast_the_run_timeout(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("answer['content'] = 'so far'", "import time; time.sleep(60)"), on_limit="partial")
    started = time.monotonic()
    done = rlm(["ask", str(logs), "q?", "--json", "--timeout", "3", *model_flags(provider)])
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["stopped_by"] == "timeout"
    assert time.monotonic() - started < 20  # not the cell's own 120 s limit


def test_a_named_source_that_is_missing_is_warned_about(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = script(code("print(1)"), code("FINAL('ok')"))
    done = rlm(["ask", str(logs), str(logs / "nope.log"), "q?", *model_flags(provider)])
    assert done.returncode == 0
    assert "nope.log: not found" in done.stderr


def test_pdfs_by_glob_with_json_for_a_pipeline(provider: FakeProvider, tmp_path: Path) -> None:
    from tests.unit.ingest_helpers import make_pdf

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.pdf").write_bytes(make_pdf(["Evaluation: accuracy on held-out set", "Appendix"]))
    (docs / "b.pdf").write_bytes(make_pdf(["Evaluation: human preference study"]))
    (docs / "notes.txt").write_text("not a pdf")
    provider.root_script = script(
        code("print(context.files, [d.page_count for d in context.documents])"),
        code("hits = context.grep('Evaluation')", "FINAL('; '.join(f'{h.path}: {h.line}' for h in hits))"),
    )
    done = rlm(["ask", "docs/*.pdf", "compare the evaluation setups", "--json", *model_flags(provider)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["input"]["documents"] == 2  # the glob took the PDFs only
    assert result["answer"] == "docs/a.pdf: Evaluation: accuracy on held-out set; docs/b.pdf: Evaluation: human preference study"
    assert "['docs/a.pdf', 'docs/b.pdf'] [2, 1]" in provider.root_requests()[1].last_user


def test_allow_write_lets_a_cell_write_under_a_path_given_relative(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    provider.root_script = script(code(f"open({str(out / 'found.txt')!r}, 'w').write('quota')", "print('written')"),
                                  code("FINAL('saved')"))
    done = rlm(["ask", str(logs), "q?", "--allow-write", "out", *model_flags(provider)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "found.txt").read_text() == "quota"
    refused = rlm(["ask", str(logs), "q?", *model_flags(provider)], cwd=tmp_path)
    assert refused.returncode == 0  # the write failed inside the sandbox; the run goes on
    assert "written" not in provider.root_requests()[-1].last_user
