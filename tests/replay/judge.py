"""What a reply meant to run, which replies lie outside what the suite measures, and the verdict.

Categories (only "counted" replies enter the rate; the others are listed, never hidden):
- counted: the reply uses our REPL contract, or a name the contract adopts from other harnesses
  (`SUBMIT`, `llm_query_batched`, `rlm_query_batched`, `SHOW_VARS`, `await llm_query`).
- foreign-api: the code calls another harness's own helpers with no meaning here (the names are
  listed), reads that harness's mounted volume, or relies on REPL state left by an earlier,
  separate run of that harness.
- foreign-format: DSPy's chat adapter delivered the code as a bare `[[ ## code ## ]]` field with no
  fence; a fenced reply protocol has no way to know that text is code.
- input-shape: the original input was pandas DataFrames; a text input cannot honour `.shape`,
  `.merge` and the like, so these replies are replayed and reported but not counted.
- not-reached: the replay ended (the answer was accepted) before this recorded turn.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from tests.replay.corpus import Trajectory, Turn

PYTHON_LANGS = {"repl", "python", "py", "python3", "py3", "ipython"}
FOREIGN_HELPERS = (
    "peek", "grep", "chunk_by_size", "chunk_by_headers", "chunk_by_timestamps", "chunk_by_json_keys",
    "add_buffer", "get_buffer", "clear_buffer", "save_to_volume", "load_from_volume", "regex_extract",
)
_CALL = re.compile(r"(?<![\w.])(" + "|".join(FOREIGN_HELPERS) + r")\s*\(")
_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)[ \t]*$")
_FINAL = re.compile(r"^[ \t]*(FINAL_VAR|FINAL)\((.*)\)[ \t]*$", re.M)
# Turns whose code reads REPL state that an earlier, separate run left behind (persistent session).
CROSS_RUN_STATE = {("official-trace-6", 2): "reads `x` set by an earlier, separate run in a persistent notebook session"}


@dataclass(frozen=True)
class Verdict:
    """How one recorded reply fared in the replay."""

    trajectory: str
    source: str
    model: str
    turn: int
    category: str
    ok: bool
    reason: str = ""


def intended_blocks(text: str) -> list[str]:
    """The code a reply meant to run: Python-tagged fenced blocks, and bare fences holding Python.

    A fence closes only on a line of its own; an unclosed last block still counts.
    """
    blocks: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        index += 1
        if not opening:
            continue
        fence, lang = opening.group(1), opening.group(2).lower()
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index])
            index += 1
        index += 1
        code = "\n".join(body)
        if lang in PYTHON_LANGS or (not lang and code.strip() and _parses(code)):
            blocks.append(code)
    return blocks


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def prose_final(text: str) -> tuple[str, str] | None:
    """The last FINAL(...) / FINAL_VAR(...) written outside code: (kind, argument)."""
    prose = text
    for block in intended_blocks(text):
        prose = prose.replace(block, "")
    matches = list(_FINAL.finditer(prose))
    return (matches[-1].group(1), matches[-1].group(2).strip()) if matches else None


def category(trajectory: Trajectory, turn: Turn) -> tuple[str, str]:
    """The category of a recorded reply, decided from the data alone, with the reason."""
    if trajectory.input.get("kind") == "dataframes":
        return "input-shape", "the original input was pandas DataFrames"
    if trajectory.format == "dspy" and not intended_blocks(turn.code):
        return "foreign-format", "DSPy code field without a fence"
    if (trajectory.id, turn.index) in CROSS_RUN_STATE:
        return "foreign-api", CROSS_RUN_STATE[(trajectory.id, turn.index)]
    defined = "\n".join(t.code for t in trajectory.turns[: turn.index])
    names = sorted({name for name in _CALL.findall(turn.code) if f"def {name}(" not in defined})
    if "/data/" in turn.code:
        names.append("files of a mounted Modal volume under /data/")
    if names:
        return "foreign-api", "uses " + ", ".join(names)
    return "counted", ""
