"""What a newcomer meets first: piped stdin, argument mix-ups, and parser errors in rlm's one style."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import model_flags, rlm
from tests.fakes.provider import FakeProvider, code, script

ERASE = "\r\x1b[2K"
READ_CONTEXT = code("print(context[:40])")
ANSWER_WITH_INPUT = code("answer['content'] = context.strip()", "answer['ready'] = True")


def test_piped_stdin_is_the_input_when_no_source_is_given(provider: FakeProvider) -> None:
    provider.root_script = script(READ_CONTEXT, ANSWER_WITH_INPUT)
    done = rlm(["ask", "why?", *model_flags(provider), "--no-trace"], input="disk quota exceeded\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "disk quota exceeded\n"


def test_dash_still_reads_stdin(provider: FakeProvider) -> None:
    provider.root_script = script(READ_CONTEXT, ANSWER_WITH_INPUT)
    done = rlm(["ask", "-", "why?", *model_flags(provider), "--no-trace"], input="from the pipe\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from the pipe\n"


def test_dash_and_paths_from_dash_together_is_a_usage_error(tmp_path: Path) -> None:
    done = rlm(["ask", "-", "why?", "--paths-from", "-", "--model", "openai/x"], input="x\n")
    assert done.returncode == 2
    assert "stdin can be read only once" in done.stderr and "hint:" in done.stderr


def test_empty_pipe_says_what_to_do() -> None:
    done = rlm(["ask", "why?", "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1", "--no-trace"], input="")
    assert done.returncode == 2
    assert "rlm: error: stdin is empty" in done.stderr
    assert 'hint: pipe text in (cat big.log | rlm ask "why?")' in done.stderr


def test_forgotten_question_names_the_mix_up(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    done = rlm(["ask", "repo", "--model", "openai/x"], cwd=tmp_path)
    assert done.returncode == 2
    assert "missing QUESTION: the last argument, 'repo', is a path, not a question" in done.stderr
    assert 'hint: rlm ask repo "your question"' in done.stderr


def test_a_path_as_the_question_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "small.log").write_text("x\n")
    done = rlm(["ask", "repo", "small.log", "--model", "openai/x"], cwd=tmp_path)
    assert done.returncode == 2
    assert "'small.log', is a path" in done.stderr
    assert 'hint: rlm ask repo small.log "your question"' in done.stderr


def test_question_first_names_the_swap(tmp_path: Path) -> None:
    (tmp_path / "small.log").write_text("x\n")
    done = rlm(["ask", "why did it fail?", "small.log", "--model", "openai/x"], cwd=tmp_path)
    assert done.returncode == 2
    assert "the question comes last" in done.stderr
    assert 'hint: rlm ask small.log "why did it fail?"' in done.stderr


@pytest.mark.parametrize(
    ("source", "message", "hint"),
    [
        ("nope.txt", "no such file or directory: nope.txt", "the question last"),
        ("*.nothing", "no file matches *.nothing", "check the pattern"),
    ],
)
def test_missing_path_and_empty_glob_name_what_to_do(tmp_path: Path, source: str, message: str, hint: str) -> None:
    done = rlm(["ask", source, "what?", "--json", "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1", "--no-trace"], cwd=tmp_path)
    assert done.returncode == 2
    payload = json.loads(done.stdout)
    assert payload["error"] == message
    assert hint in payload["hint"]


@pytest.mark.parametrize(
    ("args", "first_line", "hint"),
    [
        (["ask", "a", "q", "--bogus"], "rlm: error: no such option: --bogus", "hint: did you mean --"),
        (["ask", "a", "q", "--max-cots", "1"], "rlm: error: no such option: --max-cots", "hint: did you mean --max-cost?"),
        (["ask", "a", "q", "--sandbox", "foo"], "rlm: error: invalid value for --sandbox: 'foo' is not one of", "hint: rlm ask --help describes --sandbox"),
        (["ask"], "rlm: error: missing argument", "hint: rlm ask --help"),
        (["--bogus"], "rlm: error: no such option: --bogus", "hint: "),
    ],
)
def test_parser_errors_are_one_line_and_a_hint(args: list[str], first_line: str, hint: str) -> None:
    done = rlm(args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith(first_line) and lines[1].startswith(hint)
    assert done.stdout == ""


def test_a_terminal_hears_what_is_read_then_which_model_before_the_tree(provider: FakeProvider, tmp_path: Path) -> None:
    from tests.security.terminal import rlm_on_terminal

    source = tmp_path / "small.log"
    source.write_text("disk quota exceeded\n")
    provider.root_script = script(READ_CONTEXT, ANSWER_WITH_INPUT)
    code_, screen = rlm_on_terminal(["ask", str(source), "why?", *model_flags(provider), "--no-trace"])
    assert code_ == 0, screen
    assert screen.startswith(f"{ERASE}rlm: starting …{ERASE}rlm: reading")  # before the command line loads
    reading = screen.index(f"rlm: reading {source} …")
    connecting = screen.index("rlm: connecting to openai/root …")
    tree = screen.index("why?", connecting)
    assert reading < connecting < tree
    assert ERASE in screen[connecting:tree]  # the status line is erased before the tree draws
    assert "disk quota exceeded" in screen[tree:]  # the answer


@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        (["ask", "small.log", "why?", "--bogus"], {}, "rlm: error: no such option: --bogus"),  # the parser's
        (["ask", "small.log", "why?"], {"RLM_MAX_COST": "lots"}, "rlm: error: RLM_MAX_COST: expected a number"),  # the settings'
    ],
)
def test_an_error_after_the_early_line_starts_on_a_clean_line(isolated_env: Path, args: list[str], env: dict[str, str], error: str) -> None:
    from tests.security.terminal import rlm_on_terminal

    code_, screen = rlm_on_terminal(args, env=env)
    assert code_ in (2, 4)
    assert screen.startswith(f"{ERASE}rlm: starting …{ERASE}{error}"), screen
    assert screen.count("rlm: starting") == 1


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["ask", "small.log", "why?", "-q"], {"RLM_MAX_COST": "lots"}, "rlm: error: RLM_MAX_COST"),
        (["ask", "small.log", "why?", "--json"], {"RLM_MAX_COST": "lots"}, '"exit_code": 4'),
        (["ask", "small.log", "why?", "--events"], {"RLM_MAX_COST": "lots"}, '"exit_code": 4'),
        (["ask", "--help"], {}, "QUESTION"),
        (["ask", "small.log", "why?"], {"RLM_PROGRESS": "none", "RLM_MAX_COST": "lots"}, "rlm: error: RLM_MAX_COST"),
        ([], {"_RLM_COMPLETE": "complete_bash", "COMP_WORDS": "rlm ask --js", "COMP_CWORD": "2"}, "--json"),
    ],
    ids=["quiet", "json", "events", "help", "progress-none", "completion"],
)
def test_no_early_line_where_nothing_is_watched(isolated_env: Path, args: list[str], env: dict[str, str], expected: str) -> None:
    from tests.security.terminal import rlm_on_terminal

    _, screen = rlm_on_terminal(args, env=env)
    assert expected in screen
    assert "rlm: starting" not in screen and ERASE not in screen, screen


def test_no_status_line_off_a_terminal(provider: FakeProvider, tmp_path: Path) -> None:
    provider.root_script = script(READ_CONTEXT, ANSWER_WITH_INPUT)
    done = rlm(["ask", "why?", *model_flags(provider), "--no-trace"], input="disk quota exceeded\n")
    assert done.returncode == 0, done.stderr
    assert "rlm: reading" not in done.stderr and "\x1b" not in done.stderr


def test_a_missing_key_is_reported_without_importing_litellm(isolated_env: Path, tmp_path: Path) -> None:
    source = tmp_path / "small.log"
    source.write_text("x\n")
    probe = (
        "import sys\n"
        "from rlm_cli.api import ask\n"
        f"result = ask('why?', [{str(source)!r}], model='openai/gpt-4o', dotenv=False, trace=False)\n"
        "print(result.exit_code, 'litellm' in sys.modules, result.error)\n"
    )
    env = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.stdout.split(" ", 2)[:2] == ["4", "False"], done.stdout + done.stderr
    assert "OPENAI_API_KEY" in done.stdout


def test_one_elapsed_time_from_process_start_in_summary_json_trace_and_show(provider: FakeProvider, tmp_path: Path, isolated_env: Path) -> None:
    provider.root_script = script(READ_CONTEXT, ANSWER_WITH_INPUT)
    trace = tmp_path / "run.jsonl"
    done = rlm(["ask", "why?", *model_flags(provider), "--json", "--trace", str(trace)], input="disk quota\n")
    assert done.returncode == 0, done.stderr
    elapsed = json.loads(done.stdout)["elapsed_s"]
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    started, finished = events[0], events[-1]
    assert finished["event"] == "RunFinished" and finished["elapsed_s"] == pytest.approx(elapsed, abs=0.001)
    assert elapsed > finished["ts"] - started["ts"]  # counted from process start, before the run's first event
    shown = rlm(["show", str(trace), "--json"])
    assert json.loads(shown.stdout)["elapsed_s"] == pytest.approx(elapsed, abs=0.001)
    summary = [line for line in done.stderr.splitlines() if line.startswith("rlm: 2 turns")]
    assert summary == [f"rlm: 2 turns · 0 sub-calls · {elapsed:.1f}s · root " + summary[0].split(" · root ", 1)[1]]
    assert "finished ·" not in done.stderr  # plain progress does not repeat the summary


def test_show_last_raw_prints_the_markdown_as_written_on_a_terminal(provider: FakeProvider, tmp_path: Path, isolated_env: Path) -> None:
    from tests.security.terminal import rlm_on_terminal

    provider.root_script = script(READ_CONTEXT, code("answer['content'] = '# Cause\\n**disk quota**'", "answer['ready'] = True"))
    assert rlm(["ask", "why?", *model_flags(provider)], input="disk quota\n").returncode == 0
    code_, raw = rlm_on_terminal(["show", "last", "--raw"])
    assert code_ == 0
    assert "# Cause\r\n**disk quota**" in raw
    code_, rendered = rlm_on_terminal(["show", "last"])
    assert code_ == 0
    assert "disk quota" in rendered and "**disk quota**" not in rendered and "# Cause" not in rendered


def test_the_summary_wraps_between_its_parts_at_80_columns_on_a_terminal(provider: FakeProvider, tmp_path: Path) -> None:
    from tests.security.terminal import rlm_on_terminal

    source = tmp_path / "small.log"
    source.write_text("disk quota exceeded\n")
    provider.root_script = script(code("print(llm_query('what failed? ' + context))"), ANSWER_WITH_INPUT)
    code_, screen = rlm_on_terminal(["ask", str(source), "why?", *model_flags(provider), "--no-trace", "--progress", "plain"], columns=80)
    assert code_ == 0, screen
    lines = screen.replace("\r\n", "\n").split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("rlm: 2 turns"))
    summary = [lines[first]] + [line for line in lines[first + 1:] if line.startswith("     ")]
    assert len(summary) > 1 and all(len(line) <= 80 for line in summary)
    joined = " · ".join(line.strip() for line in summary)
    assert joined.startswith("rlm: 2 turns · 1 sub-call") and " · sub " in joined and joined.endswith("cost unknown")
