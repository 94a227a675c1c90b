"""End to end: `rlm ask -c` / `--continue-run` follow a run up with its input, variables and answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.helpers import model_flags, rlm
from tests.fakes.provider import FakeProvider, Reply, Request, code, script

Script = Callable[[Request], Reply]


def by_question(**scripts: Script) -> Script:
    """Root replies from the script whose key is in the run's question (first user message)."""

    def reply(request: Request) -> Reply:
        question = str(request.messages[1]["content"]).split("The question:\n", 1)[1].splitlines()[0]
        return next(chosen(request) for key, chosen in scripts.items() if key in question)

    return reply


def python(*lines: str) -> str:
    """A reply as models write it: some prose, then a ```python block."""
    return "Let me look at the input.\n\n```python\n" + "\n".join(lines) + "\n```"


# Written the way real models write: `context` used as a plain str, ```python fences, and the
# follow-up ending with FINAL_VAR in prose.
FIRST = script(
    python("import re", "counts = {'errors': len(re.findall(r'^ERROR', context, re.M))}", "square = lambda x: x * x", "print(counts)"),
    code("answer['content'] = f\"{counts['errors']} error lines\"", "answer['ready'] = True"),
)
FOLLOW = script(
    python("print(answer['ready'], repr(answer['content']), counts)"),
    python("result = f\"before: {answer['content']}; now {counts['errors'] * 10}\"", "print(result)"),
    "The earlier answer and the new count are both in `result`.\n\nFINAL_VAR(result)",
)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    root.mkdir()
    (root / "a.log").write_text("INFO up\nERROR disk full\nERROR disk full again\n", encoding="utf-8")
    return root


def _ask(provider: FakeProvider, *args: str, cwd: Path) -> tuple[int, str, str]:
    done = rlm(["ask", *args, *model_flags(provider)], cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def test_a_follow_up_sees_the_first_runs_variable_and_answer(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = by_question(**{"how many": FIRST, "ten times": FOLLOW})
    code_, out, err = _ask(provider, "logs", "how many errors?", cwd=logs.parent)
    assert (code_, out) == (0, "2 error lines\n"), err
    first_requests = len(provider.root_requests())

    # From another directory, naming the same source again (allowed: it is the same input).
    code_, out, err = _ask(provider, "-c", str(logs), "and ten times that?", cwd=logs)
    assert (code_, out) == (0, "before: 2 error lines; now 20\n"), err
    follow = provider.root_requests()[first_requests:]
    opening = str(follow[0].messages[1]["content"])
    assert "Question 1: how many errors?" in opening and "2 error lines" in opening
    assert "Variables restored from the earlier questions: `counts`" in opening
    assert "square: cannot be pickled" in opening  # what could not come back is named
    assert "False '2 error lines' {'errors': 2}" in follow[1].last_user  # answer: earlier, not ready

    runs = json.loads(rlm(["runs", "--json"]).stdout)["runs"]
    assert runs[0]["continues"] == runs[1]["run_id"] and runs[0]["question"] == "and ten times that?"


def test_continue_run_takes_a_unique_part_of_an_id_and_refuses_others(provider: FakeProvider, logs: Path) -> None:
    provider.root_script = by_question(**{"how many": FIRST, "ten times": FOLLOW, "again": FIRST})
    assert _ask(provider, "logs", "how many errors?", cwd=logs.parent)[0] == 0
    assert _ask(provider, "logs", "how many again?", cwd=logs.parent)[0] == 0
    first = json.loads(rlm(["runs", "--json"]).stdout)["runs"][-1]["run_id"]

    code_, out, err = _ask(provider, "--continue-run", first.rsplit("-", 1)[1], "ten times?", cwd=logs.parent)
    assert (code_, out) == (0, "before: 2 error lines; now 20\n"), err
    assert json.loads(rlm(["runs", "--json", "-n", "1"]).stdout)["runs"][0]["continues"] == first

    code_, _, err = _ask(provider, "--continue-run", "zzzz", "ten times?", cwd=logs.parent)
    assert code_ == 2 and "rlm: error: --continue-run: no recorded run matches 'zzzz'" in err
    common = first[:4]  # the year: every run's id holds it
    code_, _, err = _ask(provider, "--continue-run", common, "ten times?", cwd=logs.parent)
    assert code_ == 2 and f"{common!r} matches 3 runs" in err and "Traceback" not in err


def test_c_with_no_earlier_run_is_a_usage_error(provider: FakeProvider, tmp_path: Path) -> None:
    code_, out, err = _ask(provider, "-c", "what next?", cwd=tmp_path)
    assert code_ == 2 and out == ""
    assert "rlm: error: -c: there is no earlier run to continue" in err
    assert provider.requests == []


def test_other_sources_or_a_changed_input_are_refused(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    provider.root_script = by_question(**{"how many": FIRST, "ten times": FOLLOW})
    assert _ask(provider, "logs", "how many errors?", cwd=logs.parent)[0] == 0
    asked = len(provider.requests)
    other = tmp_path / "other.log"
    other.write_text("nothing\n", encoding="utf-8")

    code_, _, err = _ask(provider, "-c", str(other), "ten times?", cwd=logs.parent)
    assert code_ == 2 and "a follow-up keeps the input of the run it continues" in err

    (logs / "b.log").write_text("ERROR new\n", encoding="utf-8")
    code_, _, err = _ask(provider, "-c", "ten times?", cwd=logs.parent)
    assert code_ == 2 and "changed since it ran (1 documents" in err and "hint:" in err
    (logs / "b.log").unlink()
    (logs.parent / "moved").mkdir()
    logs.rename(logs.parent / "moved" / "logs")
    code_, _, err = _ask(provider, "-c", "ten times?", cwd=tmp_path)
    assert code_ == 2 and f"its source {logs} is gone" in err
    assert len(provider.requests) == asked


def test_an_estimate_of_a_follow_up_reads_the_earlier_runs_input(provider: FakeProvider, logs: Path, tmp_path: Path) -> None:
    provider.root_script = by_question(**{"how many": FIRST})
    assert _ask(provider, "logs", "how many errors?", cwd=logs.parent)[0] == 0
    requests = len(provider.requests)
    done = rlm(["ask", "-c", "and ten times that?", "--estimate", "--json", *model_flags(provider)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert (figures["documents"], figures["bytes"]) == (1, len((logs / "a.log").read_bytes()))
    assert len(provider.requests) == requests  # an estimate calls no model
