"""The REPL contract in one in-process REPL: FINAL in all its forms, other harnesses' names,
awaited sub-calls."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rlm_cli.sandbox.contract import PROSE_FINAL
from rlm_cli.sandbox.messages import Answer, Result
from rlm_cli.sandbox.repl import Repl


class Host:
    """Answers sub-calls like the broker would, recording them; `barrier` makes calls meet."""

    def __init__(self, barrier: threading.Barrier | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.barrier = barrier

    def __call__(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((kind, args))
        if self.barrier is not None:
            self.barrier.wait()
        if kind == "llm_batch":
            return {"ok": True, "value": [f"re: {p}" for p in args["prompts"]]}
        if args["prompt"].startswith("fail"):
            return {"ok": False, "error": "provider refused"}
        return {"ok": True, "value": f"re: {args['prompt']}"}


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
def repl(host: Host) -> Repl:
    repl = Repl("the context", host, capture_limit=10_000)
    ok(repl, "total = 42\ncity = 'Polk'\nnames = ['a', 'b']\nresult = 'forty-two'")
    return repl


def ok(repl: Repl, code: str) -> Result:
    done = repl.run(code, timeout=10)
    assert done.error is None, done.error
    return done


def prose(repl: Repl, name: str, source: str, literal: bool = True) -> Result:
    return repl.run(f"{PROSE_FINAL}({name!r}, {source!r}, literal={literal})", timeout=10)


@pytest.mark.parametrize(("name", "source", "content"), [
    ("FINAL", "total", "42"),                 # a bound name: its value, not the word
    ("FINAL", "Polk", "Polk"),                # an unbound word: the text
    ("FINAL", '"the answer is Polk"', "the answer is Polk"),
    ("FINAL", "42 apples", "42 apples"),      # not Python: the text as written
    ("FINAL", "0.10", "0.10"),                # a number as written, not as Python prints it
    ("FINAL", "x - y", "x - y"),              # names that are not variables: text
    ("FINAL", "str(total) + ' items'", "42 items"),
    ("FINAL", "', '.join(n.upper() for n in names)", "A, B"),
    ("FINAL", "answer", ""),                  # `answer` itself gives its content
    ("FINAL_VAR", "result", "forty-two"),
    ("FINAL_VAR", "'result'", "forty-two"),
    ("FINAL_VAR", "city", "Polk"),            # a variable holding a name-like value
    ("FINAL_VAR", "'Polk'", "Polk"),          # a value that looks like a name
    ("FINAL_VAR", "The answer is 42", "The answer is 42"),
    ("SUBMIT", "answer=result", "forty-two"),
    ("SUBMIT", 'answer="Polk"', "Polk"),
    ("SUBMIT", "city=city, year=1845", "city: Polk\nyear: 1845"),
])
def test_a_prose_final_gives_what_the_model_meant(repl: Repl, name: str, source: str, content: str) -> None:
    done = prose(repl, name, source)
    assert done.error is None, done.error
    assert done.answer == Answer(content, True)


def test_prose_final_var_of_a_missing_variable_is_a_name_error(repl: Repl) -> None:
    done = prose(repl, "FINAL_VAR", "final_answer")
    assert "NameError" in (done.error or "") and done.answer.ready is False


def test_without_literal_only_finals_from_variables_apply(repl: Repl) -> None:
    assert prose(repl, "FINAL", "42", literal=False).answer.ready is False
    assert prose(repl, "FINAL", "Polk", literal=False).answer.ready is False
    assert prose(repl, "FINAL_VAR", "'Polk'", literal=False).answer.ready is False
    assert prose(repl, "FINAL", "total", literal=False).answer == Answer("42", True)


def test_final_var_in_code_takes_a_name_or_a_value(repl: Repl) -> None:
    assert ok(repl, "FINAL_VAR('total')").answer.content == "42"
    assert ok(repl, "FINAL_VAR(city)").answer.content == "Polk"
    assert ok(repl, "FINAL_VAR('Paris')").answer.content == "Paris"
    assert ok(repl, "FINAL_VAR(7 * 6)").answer.content == "42"
    unset = repl.run("FINAL_VAR('final_answer')", timeout=10).error or ""
    assert "NameError" in unset and "total" in unset and "FINAL('final_answer')" in unset


def test_submit_and_final_with_fields(repl: Repl) -> None:
    assert ok(repl, "SUBMIT(answer=city)").answer == Answer("Polk", True)
    assert ok(repl, "SUBMIT(name=city, year=1845)").answer.content == "name: Polk\nyear: 1845"
    assert ok(repl, "FINAL('a', 'b')").answer.content == "a\nb"
    assert "FINAL needs the answer" in (repl.run("FINAL()", timeout=10).error or "")


def test_show_vars_returns_the_listing_and_shows_it_last(repl: Repl) -> None:
    done = ok(repl, "SHOW_VARS()")
    assert done.value_repr == "total: int\ncity: str, 4 chars\nnames: list, 2 items\nresult: str, 9 chars"
    assert ok(repl, "listing = SHOW_VARS()\nprint('city' in listing, isinstance(listing, str))").stdout == "True True\n"


def test_top_level_await_on_every_sub_call(repl: Repl, host: Host) -> None:
    done = ok(repl, "a = await llm_query('one')\nb = await llm_batch(['x', 'y'])\nc = await rlm_query('two', model='m')\nprint(a, b, c)")
    assert done.stdout == "re: one ['re: x', 're: y'] re: two\n"
    assert ok(repl, "await llm_query('last')").value_repr == "'re: last'"
    assert ok(repl, "type(a) is str and type(b) is list").value_repr == "True"
    assert [kind for kind, _ in host.calls] == ["llm_query", "llm_batch", "rlm_query", "llm_query"]


def test_asyncio_gather_and_async_functions(repl: Repl) -> None:
    done = ok(repl, "import asyncio\nparts = await asyncio.gather(*[llm_query(p) for p in ['a', 'b']])\nparts")
    assert done.value_repr == "['re: a', 're: b']"
    code = "async def ask(p):\n    return await llm_query(p)\n\nasync def main():\n    return [await ask('c')]\n\nasyncio.run(main())"
    assert ok(repl, code).value_repr == "['re: c']"
    assert ok(repl, "plain = llm_query('d')\ntype(plain).__name__").value_repr == "'str'"


def test_rlm_query_batched_runs_children_in_parallel() -> None:
    host = Host(barrier=threading.Barrier(2, timeout=5))  # both calls must be in flight at once
    repl = Repl("", host, capture_limit=10_000)
    assert ok(repl, "rlm_query_batched(['p', 'q'])").value_repr == "['re: p', 're: q']"
    assert [kind for kind, _ in host.calls] == ["rlm_query", "rlm_query"]


def test_rlm_query_batched_marks_a_failed_child(host: Host) -> None:
    repl = Repl("", host, capture_limit=10_000)
    assert ok(repl, "rlm_query_batched(['ok', 'fail now'])").value_repr == (
        "['re: ok', 'Error: rlm_query failed: provider refused']"
    )
    assert "use rlm_query" in (repl.run("rlm_query_batched('one prompt')", timeout=10).error or "")


def test_re_and_json_come_imported(repl: Repl) -> None:
    assert ok(repl, "re.findall('t', context), json.dumps(1)").value_repr == "(['t', 't', 't'], '1')"


def test_a_chunk_sent_as_a_prompt_opens_with_its_source(repl: Repl, host: Host) -> None:
    ok(repl, "from rlm_cli.corpus import Chunk\nc = Chunk('x = 1\\n', number=0, start=0, end=6, paths=('a.py',), cite='a.py:1')")
    ok(repl, "llm_batch([c, 'plain'])\nllm_query(c)")
    assert host.calls[0][1]["prompts"] == ["[source: a.py:1]\nx = 1\n", "plain"]
    assert host.calls[1][1]["prompt"] == "[source: a.py:1]\nx = 1\n"
