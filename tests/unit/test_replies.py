"""Reading root replies as real models write them: code to run, cut-off blocks, FINAL in prose."""

from __future__ import annotations

import json

import pytest

from rlm_cli.replies import parse


def blocks(reply: str) -> list[str]:
    return list(parse(reply).blocks)


@pytest.mark.parametrize("opening", [
    "```repl", "```python", "```py", "```py3", "```python3", "```ipython", "```Python", "```PY",
    "``` python", "```python  ", "~~~python", "~~~", "````python",
])
def test_every_code_fence_form_runs(opening: str) -> None:
    closing = opening[0] * (4 if opening.startswith("````") else 3)
    reply = f"Let me count.\n{opening}\nn = len(context)\nprint(n)\n{closing}\nThen I will read."
    assert blocks(reply) == ["n = len(context)\nprint(n)"]


def test_blocks_run_in_order_and_other_languages_never_run() -> None:
    reply = (
        "```repl\nx = 1\n```\nthen\n```python\nprint(x)\n```\n```bash\nrm -rf data\n```\n"
        '```json\n{"a": 1}\n```\n```text\nprint("not code")\n```\n```output\nprint(2)\n```'
    )
    assert blocks(reply) == ["x = 1", "print(x)"]


def test_crlf_line_endings() -> None:
    reply = "Counting:\r\n```python\r\nfor line in context.splitlines()[:3]:\r\n    print(line)\r\n```\r\n"
    assert blocks(reply) == ["for line in context.splitlines()[:3]:\n    print(line)"]


def test_a_fence_inside_a_comment_or_string_does_not_close_the_block() -> None:
    reply = (
        "```python\n"
        "# the sub-LLM answers in a ``` block, strip it\n"
        "fence = '```'\n"
        "clean = [a.replace(fence, '') for a in answers]\n"
        "print(len(clean))\n"
        "```\nDone."
    )
    assert blocks(reply) == [
        "# the sub-LLM answers in a ``` block, strip it\nfence = '```'\n"
        "clean = [a.replace(fence, '') for a in answers]\nprint(len(clean))"
    ]


def test_a_fenced_example_inside_a_triple_quoted_prompt_stays_in_the_block() -> None:
    code = 'template = """Answer in JSON:\n```\n{"year": 1999}\n```\n"""\nprint(template)'
    assert blocks(f"```python\n{code}\n```\nsee above") == [code]


def test_an_indented_block_in_a_list_is_dedented() -> None:
    reply = "1. First, look:\n   ```python\n   print(len(context))\n   ```\n2. Then grep."
    assert blocks(reply) == ["print(len(context))"]


@pytest.mark.parametrize("body", [
    "print(len(context))",
    "hits = context.grep('ERROR')",
    "import re\nre.findall(r'\\d+', context)[:5]",
    "context[:2000]",
    "FINAL('done')",
    "total: int = 3",
])
def test_a_bare_fence_runs_when_it_is_code(body: str) -> None:
    assert blocks(f"Here:\n```\n{body}\n```") == [body]


@pytest.mark.parametrize("body", [
    "[1, 2, 3]",                                   # sample data
    '{"name": "Polk", "year": 1845}',              # JSON
    "42",                                          # expected output
    "Polk",                                        # an answer-like word
    "ls -la",                                      # a shell line that happens to parse
    "pip install pandas",                          # a shell line that does not
    "Total: 42\nErrors: 3",                        # key: value output
    "The deploy failed because the disk was full.",
    "Match(path='app.log', line_no=41, line='ERROR quota')",  # a repr shown as output
    "[Counter({'a': 3}), Counter({'b': 1})]",
    "# just a comment",
])
def test_a_bare_fence_with_data_output_shell_or_prose_never_runs(body: str) -> None:
    assert blocks(f"Expected output:\n```\n{body}\n```") == []


def test_an_unclosed_last_block_runs_its_complete_statements() -> None:
    reply = "```python\nimport re\nhits = re.findall('x', context)\nprint(len(hits))\nsummary = llm_query(f'Summarise {hits[:3]"
    result = parse(reply)
    assert result.blocks == ("import re\nhits = re.findall('x', context)\nprint(len(hits))",)
    assert result.cut_lines == 1


def test_a_cut_inside_a_loop_body_drops_the_whole_loop() -> None:
    reply = "```python\nseen = 0\nfor doc in context.documents:\n    seen += 1\n    print(doc.path, len(doc"
    result = parse(reply)
    assert result.blocks == ("seen = 0",) and result.cut_lines == 3


def test_a_cut_before_else_drops_the_if() -> None:
    reply = "```python\nx = 1\nif x:\n    print('a')\nelse:\n    print('b"
    assert parse(reply).blocks == ("x = 1",)


def test_an_unclosed_block_that_is_complete_runs_whole_and_is_reported() -> None:
    result = parse("```python\nprint(1)\nprint(2)")
    assert result.blocks == ("print(1)\nprint(2)",) and result.cut_lines == 0
    assert parse("```python\nprint(1)\n```").cut_lines is None


def test_a_fence_glued_to_the_last_line_closes_the_block() -> None:
    result = parse("```python\nprint(len(context))```")
    assert result.blocks == ("print(len(context))",) and result.cut_lines is None


def test_inline_triple_backticks_are_not_a_fence() -> None:
    reply = "```x = 1``` is how you would set it.\n```python\nprint(2)\n```"
    assert blocks(reply) == ["print(2)"]


def test_json_tool_calls_hold_code() -> None:
    call = json.dumps({"name": "python", "arguments": {"code": "print(len(context))\nprint(1)"}})
    reply = f"I'll check the size.\n<tool_call>\n{call}\n</tool_call>"
    assert blocks(reply) == ["print(len(context))\nprint(1)"]


def test_tool_call_arguments_as_a_json_string_with_raw_newlines() -> None:
    arguments = json.dumps({"code": "x = 1"})
    reply = '<tool_call>{"name": "execute_code", "arguments": ' + json.dumps(arguments) + "}</tool_call>"
    assert blocks(reply) == ["x = 1"]
    raw = '<tool_call>{"name": "repl", "arguments": {"code": "for p in context.files:\n    print(p)"}}</tool_call>'
    assert blocks(raw) == ["for p in context.files:\n    print(p)"]


def test_xml_tool_calls_hold_code() -> None:
    reply = (
        "<tool_call>\n<function=execute_python>\n<parameter=code>\n"
        "hits = context.grep('quota')\nprint(hits)\n</parameter>\n</function>\n</tool_call>"
    )
    assert blocks(reply) == ["hits = context.grep('quota')\nprint(hits)"]


def test_a_fenced_tool_call_argument_is_unwrapped_and_order_is_kept() -> None:
    call = json.dumps({"name": "python", "arguments": {"code": "```python\nb = 2\n```"}})
    reply = f"```python\na = 1\n```\n<tool_call>{call}</tool_call>\n```python\nc = 3\n```"
    assert blocks(reply) == ["a = 1", "b = 2", "c = 3"]


def test_tool_calls_without_code_run_nothing() -> None:
    call = json.dumps({"name": "web_search", "arguments": {"query": "print(1)"}})
    assert blocks(f"<tool_call>{call}</tool_call>") == []


def test_think_blocks_never_run_and_hold_no_final() -> None:
    reply = (
        "<think>\nMaybe:\n```python\nFINAL('guess')\n```\nFINAL(guess)\n</think>\n"
        "Let me look first.\n```python\nprint(len(context))\n```"
    )
    result = parse(reply)
    assert result.blocks == ("print(len(context))",) and result.final is None
    assert "guess" not in result.prose
    assert parse("<thinking>```python\nx = 1\n```</thinking>ok").blocks == ()


def test_reasoning_whose_opening_tag_was_in_the_template() -> None:
    result = parse("so I should print it\n```python\nprint('draft')\n```\n</think>\n```python\nprint(1)\n```")
    assert result.blocks == ("print(1)",)


def test_an_unclosed_think_runs_nothing() -> None:
    assert parse("<think>\n```python\nprint(1)\n```\nstill thinking").blocks == ()


@pytest.mark.parametrize(("reply", "name", "source"), [
    ("Done.\nFINAL(42 apples)", "FINAL", "42 apples"),
    ('FINAL("quoted answer")', "FINAL", '"quoted answer"'),
    ("All set.\nFINAL_VAR(result)", "FINAL_VAR", "result"),
    ("The count is verified.\n\n**FINAL(total)**", "FINAL", "total"),
    ("`FINAL_VAR(summary)`.", "FINAL_VAR", "summary"),
    ("> FINAL(Polk)", "FINAL", "Polk"),
    ("SUBMIT(answer=result)", "SUBMIT", "answer=result"),
    ('FINAL("It is (roughly) 42, see app.py")', "FINAL", '"It is (roughly) 42, see app.py"'),
    ("FINAL(It's 3 files (a, b, c))", "FINAL", "It's 3 files (a, b, c)"),
    ("FINAL(The answer:\n- a\n- b)\n\nLet me know if you need more.", "FINAL", "The answer:\n- a\n- b"),
    ("FINAL(first)\nsome notes\nFINAL(second)", "FINAL", "second"),
])
def test_prose_finals(reply: str, name: str, source: str) -> None:
    final = parse(reply).final
    assert final is not None and (final.name, final.source) == (name, source)


@pytest.mark.parametrize("reply", [
    "I will call FINAL(x) once verified.",
    "FINAL(x) will be called after the check.",
    "no answer yet",
    "```repl\nFINAL('x')\n```",
    "FINAL(unfinished",
    "```text\nFINAL(42)\n```",
])
def test_what_is_not_a_prose_final(reply: str) -> None:
    assert parse(reply).final is None


def test_the_text_of_a_prose_final() -> None:
    assert parse('FINAL("Polk")').final.text == "Polk"  # type: ignore[union-attr]
    assert parse("FINAL(0.10)").final.text == "0.10"  # type: ignore[union-attr]
    assert parse("FINAL(42 apples)").final.text == "42 apples"  # type: ignore[union-attr]


def test_prose_is_the_reply_without_code_reasoning_or_tool_calls() -> None:
    reply = "<think>hmm</think>Counting.\n```python\nprint(1)\n```\n<tool_call>{}</tool_call>\nThe answer is 3."
    assert parse(reply).prose == "Counting.\n\nThe answer is 3."
    assert parse("Best answer:\n```markdown\n- 3 files\n```").prose == "Best answer:\n- 3 files"
