"""What lands on stdout (the answer, or exactly one JSON object) and the summary on stderr."""

from __future__ import annotations

import io
import json

import pytest

from rlm_cli.accounting import empty_usage
from rlm_cli.render.answer import print_result, summary_line
from rlm_cli.result import RunResult

ANSWER = "# Auth\n\n- `login()` in **auth/session.py**"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def result(**fields: object) -> RunResult:
    usage = empty_usage()
    usage["root"].update(prompt_tokens=12_000, completion_tokens=300, cost_usd=0.0123)
    usage["sub"].update(prompt_tokens=45_000, completion_tokens=600, cost_usd=0.0345)
    usage["total"].update(prompt_tokens=57_000, completion_tokens=900, cost_usd=0.0468)
    base: dict[str, object] = {
        "answer": ANSWER, "ready": True, "stopped_by": "answer", "model": "m", "sub_model": "s",
        "iterations": 3, "sub_calls": 41, "usage": usage, "elapsed_s": 12.34, "run_id": "r1",
    }
    return RunResult(**{**base, **fields})  # type: ignore[arg-type]


def printed(res: RunResult, *, as_json: bool = False, quiet: bool = False, out: io.StringIO | None = None) -> tuple[str, str]:
    out = out or io.StringIO()
    err = io.StringIO()
    print_result(res, as_json=as_json, quiet=quiet, out=out, err=err)
    return out.getvalue(), err.getvalue()


def test_piped_stdout_is_exactly_the_answer_plus_a_newline() -> None:
    out, err = printed(result())
    assert out == ANSWER + "\n"
    assert err == (
        "rlm: 3 turns · 41 sub-calls · 12.3s · root 12.3k tok (12.0k in, 300 out) $0.0123 · "
        "sub 45.6k tok (45.0k in, 600 out) $0.0345 · total $0.0468\n"
    )
    assert printed(result(answer="done\n"))[0] == "done\n"


def test_a_terminal_gets_markdown() -> None:
    out, _ = printed(result(), out=Tty())
    assert "Auth" in out and "# Auth" not in out and "**" not in out


def test_partial_answer_is_marked_on_stderr_only() -> None:
    out, err = printed(result(ready=False, stopped_by="max_iterations", exit_code=3))
    assert out == ANSWER + "\n"
    assert err.startswith("rlm: partial answer: stopped by max_iterations before the answer was ready\n")


def test_unpriced_models_say_cost_unknown() -> None:
    res = result()
    res.usage["sub"]["cost_usd"] = None
    res.usage["total"]["cost_usd"] = None
    _, err = printed(res)
    assert err.endswith("$0.0123 · sub 45.6k tok (45.0k in, 600 out) · cost unknown\n")  # once, not per part
    assert err.count("cost unknown") == 1


def test_no_sub_calls_no_sub_usage_and_no_made_up_price() -> None:
    res = result(sub_calls=0)
    res.usage["sub"].update(prompt_tokens=0, completion_tokens=0, cost_usd=0.0)
    res.usage["root"]["cost_usd"] = None
    res.usage["total"]["cost_usd"] = None
    _, err = printed(res)
    assert err == "rlm: 3 turns · 0 sub-calls · 12.3s · root 12.3k tok (12.0k in, 300 out) · cost unknown\n"


def test_the_summary_wraps_between_its_parts_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class NarrowTty(Tty):
        def fileno(self) -> int:
            raise OSError("not a real terminal")

    monkeypatch.setenv("COLUMNS", "50")
    err = NarrowTty()
    print_result(result(), as_json=False, out=io.StringIO(), err=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        "rlm: 3 turns · 41 sub-calls · 12.3s",
        "     root 12.3k tok (12.0k in, 300 out) $0.0123",
        "     sub 45.6k tok (45.0k in, 600 out) $0.0345",
        "     total $0.0468",
    ]


def test_quiet_prints_the_answer_and_nothing_else_but_errors() -> None:
    assert printed(result(), quiet=True) == (ANSWER + "\n", "")
    out, err = printed(result(answer="", error="provider failed: 503", stopped_by="error", exit_code=5), quiet=True)
    assert (out, err) == ("", "rlm: error: provider failed: 503\n")


@pytest.mark.parametrize(
    "res",
    [
        result(),
        result(ready=False, stopped_by="max_cost", exit_code=3),
        result(ready=False, stopped_by="interrupt", exit_code=130),
        result(answer="", ready=False, stopped_by="error", error="no API key: set OPENAI_API_KEY", exit_code=4),
    ],
    ids=["success", "partial", "interrupted", "error"],
)
def test_json_is_exactly_one_object_on_stdout(res: RunResult) -> None:
    out, _ = printed(res, as_json=True, out=Tty())
    assert out.endswith("}\n") and out.count("\n") == 1
    data = json.loads(out)
    assert data == json.loads(json.dumps(res.to_json_dict()))
    assert data["schema"] == 1 and data["error"] == res.error and data["exit_code"] == res.exit_code


def test_an_interrupted_run_says_so_once_and_keeps_its_partial_answer() -> None:
    out, err = printed(result(ready=False, stopped_by="interrupt", error="interrupted", exit_code=130))
    assert out == ANSWER + "\n"
    assert err.startswith("rlm: interrupted\nrlm: partial answer: stopped by interrupt")


def test_raw_prints_the_answer_unrendered_on_a_terminal() -> None:
    rendered, _ = printed(result(), out=Tty())
    assert "**" not in rendered and "# Auth" not in rendered  # Markdown was rendered
    tty = Tty()
    print_result(result(answer=ANSWER + "\x1b[2J"), as_json=False, raw=True, out=tty, err=io.StringIO())
    assert tty.getvalue() == ANSWER + "\\x1b[2J\n"  # as written, its control characters made visible


def test_the_summary_line_ends_with_the_calls_of_each_deployment() -> None:
    served = {"eu": {"calls": 3, "prompt_tokens": 30, "completion_tokens": 3, "cost_usd": None}, "us": {"calls": 1, "prompt_tokens": 9, "completion_tokens": 1, "cost_usd": None}}
    assert summary_line(RunResult(usage={**empty_usage(), "by_deployment": served})).endswith(" · calls by deployment: eu 3, us 1")
    assert "deployment" not in summary_line(RunResult())
