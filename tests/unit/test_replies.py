"""Reading root replies: code blocks, and FINAL written in prose."""

from __future__ import annotations

from rlm_cli.replies import code_blocks, prose_final


def test_repl_and_python_blocks_in_order() -> None:
    reply = "Look:\n```repl\nx = 1\n```\nthen\n```python\nprint(x)\n```\n```bash\nls\n```"
    assert code_blocks(reply) == ["x = 1", "print(x)"]


def test_prose_final_text_and_var() -> None:
    assert prose_final("Done.\nFINAL(42 apples)").value == "42 apples"
    assert prose_final('FINAL("quoted answer")').value == "quoted answer"
    final = prose_final("All set.\nFINAL_VAR(result)")
    assert final is not None and (final.kind, final.value) == ("var", "result")
    assert prose_final("FINAL_VAR('result')").value == "result"


def test_final_inside_code_or_mid_sentence_is_not_prose_final() -> None:
    assert prose_final("```repl\nFINAL('x')\n```") is None
    assert prose_final("I will call FINAL(x) once verified.") is None
    assert prose_final("no answer yet") is None
