"""Reading the root model's replies: code blocks to run, and FINAL(...) written in prose."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_BLOCK = re.compile(r"```(?:repl|python|py|python3)[ \t]*\n(.*?)```", re.S | re.I)
_FINAL_VAR = re.compile(r"FINAL_VAR\(\s*(.+?)\s*\)\s*$", re.S)
_FINAL = re.compile(r"FINAL\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class ProseFinal:
    """A FINAL(text) or FINAL_VAR(name) written outside any code block."""

    kind: str  # "text" or "var"
    value: str

    @property
    def call(self) -> str:
        """How it was written, for messages to the model."""
        return f"FINAL_VAR({self.value})" if self.kind == "var" else "FINAL(...)"


def code_blocks(reply: str) -> list[str]:
    """The ```repl / ```python blocks of a reply, in order."""
    return [block.strip("\n") for block in _BLOCK.findall(reply) if block.strip()]


def prose_final(reply: str) -> ProseFinal | None:
    """A FINAL(...) / FINAL_VAR(...) on the reply's last lines outside code blocks, if any."""
    prose = _BLOCK.sub("", reply).strip()
    start = _last_call_start(prose)
    if start is None:
        return None
    tail = prose[start:]
    match = _FINAL_VAR.match(tail)
    if match:
        return ProseFinal("var", _unquote(match.group(1)))
    match = _FINAL.match(tail)
    if match:
        return ProseFinal("text", _unquote(match.group(1)))
    return None


def _last_call_start(prose: str) -> int | None:
    # The call must begin a line: "so the total is FINAL(x)" inside a sentence is not a verdict.
    for match in reversed(list(re.finditer(r"(?m)^\s*(FINAL_VAR|FINAL)\(", prose))):
        return match.start(1)
    return None


def _unquote(text: str) -> str:
    text = text.strip()
    if (len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"") or text.startswith(('"""', "'''")):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text.strip("'\"")
        return value if isinstance(value, str) else str(value)
    return text
