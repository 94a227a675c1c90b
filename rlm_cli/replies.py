"""Reading the root model's replies: the code to run, and a FINAL written in prose.

Code comes in fenced blocks (```` ``` ```` or `~~~`, tagged repl/python/py/py3/python3/ipython,
any case, or untagged when the text is plainly code) or in text-style tool calls
(`<tool_call>{"name": ..., "arguments": {"code": ...}}</tool_call>` and the XML form).
`<think>` blocks are neither run nor read for FINAL.
"""

from __future__ import annotations

import ast
import io
import json
import re
import textwrap
import tokenize
from dataclasses import dataclass
from typing import Any

from rlm_cli.sandbox.contract import literal_text

CODE_TAGS = frozenset({"repl", "python", "python3", "py", "py3", "ipython", "ipython3", "tool_code"})
FINAL_NAMES = ("FINAL_VAR", "FINAL", "SUBMIT")
CODE_KEYS = ("code", "source", "script", "python", "program", "cell")  # tool-call arguments holding code

_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<tag>[^\s`]*)")
_THINK = re.compile(r"<(think|thinking)>.*?(?:</\1>|\Z)", re.S | re.I)
_THINK_END = re.compile(r"^.*?</(?:think|thinking)>", re.S | re.I)  # the opening tag was in the template
_TOOL_CALL = re.compile(
    r"<(?P<tag>tool_call|function_call)>(?P<body>.*?)(?:</(?P=tag)>|\Z)|(?P<xml><function=[^>]*>.*?(?:</function>|\Z))",
    re.S,
)
_PARAMETER = re.compile(r"<parameter=([\w-]+)>\n?(.*?)\n?(?:</parameter>|\Z)", re.S)
_FINAL_START = re.compile(r"(?m)^[ \t>*_`#-]*(?P<name>" + "|".join(FINAL_NAMES) + r")\(")
_CALL_TAIL = re.compile(r"[ \t*_`.!]*(?:\n|\Z)")


@dataclass(frozen=True)
class ProseFinal:
    """A FINAL(...), FINAL_VAR(...) or SUBMIT(...) written outside any code block."""

    name: str
    source: str  # the arguments as written

    @property
    def call(self) -> str:
        """How it was written, shortened, for messages to the model."""
        source = self.source if len(self.source) <= 60 else self.source[:57] + "..."
        return f"{self.name}({source})"

    @property
    def text(self) -> str:
        """The answer it gives when taken as text."""
        return literal_text(self.source)


@dataclass(frozen=True)
class Reply:
    """What one root reply asks for."""

    blocks: tuple[str, ...]  # code to run, in order
    final: ProseFinal | None
    prose: str  # the reply without reasoning, code, tool calls and fence lines
    cut_lines: int | None = None  # the last block had no closing fence: lines of it not run


def parse(text: str) -> Reply:
    """Read one reply."""
    visible = _THINK.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    visible = _THINK_END.sub("", visible, count=1)
    blocks: list[str] = []
    prose: list[str] = []  # where a FINAL may stand
    text_parts: list[str] = []  # what the reply says: prose and the text of blocks that do not run
    cut_lines = None
    for kind, body in _segments(visible):
        if kind == "prose":
            blocks += [code for code in _tool_calls(body) if code.strip()]
            prose.append(_TOOL_CALL.sub("", body))
            text_parts.append(prose[-1])
        elif kind == "cut":
            code, cut_lines = _complete_part(body)
            if code.strip():
                blocks.append(code)
        elif kind == "code" and body.strip():
            blocks.append(body)
        elif kind == "other":
            text_parts.append(body + "\n")
    return Reply(tuple(blocks), _prose_final("".join(prose)), "".join(text_parts).strip(), cut_lines)


# fenced blocks ---------------------------------------------------------------------------------
def _segments(text: str) -> list[tuple[str, str]]:
    """The reply as ("prose" | "code" | "cut" | "other", text) pieces in order."""
    lines = text.split("\n")
    pieces: list[tuple[str, str]] = []
    prose: list[str] = []
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        if opening is None or "`" in lines[index][opening.end("fence") :]:  # no fence: ```inline``` code
            prose.append(lines[index] + "\n")
            index += 1
            continue
        tag = opening["tag"].lower()
        python = tag in CODE_TAGS or not tag
        end = _closing(lines, index, opening["fence"], python)
        body = lines[index + 1 : end]
        if end == len(lines) and body and body[-1].rstrip().endswith(opening["fence"]):  # "print(x)```"
            body[-1] = body[-1].rstrip()[: -len(opening["fence"])]
            end = len(lines) - 1
        code = textwrap.dedent("\n".join(body)).strip("\n")
        pieces.append(("prose", "".join(prose)))
        prose = []
        if not python:
            pieces.append(("other", code))
        elif end == len(lines):
            pieces.append(("cut", code) if tag or _looks_like_code(_complete_part(code)[0]) else ("other", code))
        elif tag or _looks_like_code(code):
            pieces.append(("code", code))
        else:
            pieces.append(("other", code))
        index = end + 1
    pieces.append(("prose", "".join(prose)))
    return pieces


def _closing(lines: list[str], start: int, fence: str, python: bool) -> int:
    """The line closing a block opened at `start` (len(lines) when it never closes).

    Only a line holding nothing but the fence closes it; in Python, not while inside a triple-quoted
    string (a prompt template may hold a fenced example).
    """
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    for index in range(start + 1, len(lines)):
        if closing.match(lines[index]) and not (python and _inside_string("\n".join(lines[start + 1 : index]))):
            return index
    return len(lines)


def _inside_string(code: str) -> bool:
    try:
        for _token in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
            pass
    except tokenize.TokenError as error:  # the wording differs across Python versions
        return "multi-line string" in str(error) or "triple-quoted" in str(error)
    except (SyntaxError, ValueError):  # IndentationError and the like: not a string question
        return False
    return False


def _looks_like_code(code: str) -> bool:
    """An untagged block runs when it parses as Python and does something.

    Sample data, expected output and shell lines are not code: text that does not parse, a
    literal, a bare name or arithmetic over names (`ls -la`), `key: value` lines, and reprs of
    objects (`Match(path='a', line_no=3)`, a capitalised call of literals) never run.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(_acts(statement) for statement in tree.body)


def _acts(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Expr):
        return not _inert(statement.value)
    if isinstance(statement, ast.AnnAssign):
        return statement.value is not None
    return not isinstance(statement, ast.Pass)


def _inert(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        shown = name[:1].isupper() and name not in FINAL_NAMES and name != "SHOW_VARS"
        return shown and all(_inert(arg) for arg in [*node.args, *(k.value for k in node.keywords)])
    if isinstance(node, ast.Attribute | ast.Subscript | ast.Await | ast.NamedExpr | ast.Lambda | ast.comprehension):
        return False
    return all(_inert(child) for child in ast.iter_child_nodes(node))


def _complete_part(code: str) -> tuple[str, int]:
    """The complete statements of a block cut off mid-way, and how many lines were left out.

    The longest run of leading lines that parses, less its last statement when the lines left
    out continue it (indented, or `else`/`except`/...), so no statement runs half-written.
    """
    lines = code.split("\n")
    for end in range(len(lines), 0, -1):
        head = "\n".join(lines[:end])
        try:
            tree = ast.parse(head)
        except (SyntaxError, ValueError):
            continue
        following = next((line for line in lines[end:] if line.strip()), "")
        if following and tree.body and (following[:1].isspace() or _continues(following)):
            end = tree.body[-1].lineno - 1
            while end > 0 and lines[end - 1].lstrip().startswith("@"):
                end -= 1
        return "\n".join(lines[:end]), len(lines) - end
    return "", len(lines)


def _continues(line: str) -> bool:
    return re.match(r"(else|elif|except|finally|case)\b", line) is not None


# tool calls ------------------------------------------------------------------------------------
def _tool_calls(prose: str) -> list[str]:
    """The code held by the text-style tool calls of a stretch of prose."""
    found = []
    for match in _TOOL_CALL.finditer(prose):
        body = match["xml"] or match["body"]
        code = _xml_code(body) if "<parameter=" in body else _json_code(body)
        if code is not None:
            found.append(_unfence(code))
    return found


def _json_code(body: str) -> str | None:
    try:
        call = json.loads(body.strip(), strict=False)
    except ValueError:
        return None
    if not isinstance(call, dict):
        return None
    call = call.get("function", call)
    arguments: Any = call.get("arguments", call.get("parameters", call.get("args")))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments, strict=False)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return next((arguments[key] for key in CODE_KEYS if isinstance(arguments.get(key), str)), None)


def _xml_code(body: str) -> str | None:
    parameters = dict(_PARAMETER.findall(body))
    return next((parameters[key] for key in CODE_KEYS if key in parameters), None)


def _unfence(code: str) -> str:
    """Code as given, or the inside of the one fenced block it consists of."""
    pieces = [(kind, body) for kind, body in _segments(code) if body.strip()]
    return pieces[0][1] if len(pieces) == 1 and pieces[0][0] in ("code", "cut") else code.strip("\n")


# FINAL in prose ----------------------------------------------------------------------------------
def _prose_final(prose: str) -> ProseFinal | None:
    """The last FINAL/FINAL_VAR/SUBMIT call standing alone on its line(s), if any.

    "I will call FINAL(x) once verified" is not one: the call must begin its line (after
    Markdown marks) and nothing but marks or a full stop may follow it on its last line.
    """
    for match in reversed(list(_FINAL_START.finditer(prose))):
        end = _matching_paren(prose, match.end() - 1)
        if end is not None and _CALL_TAIL.match(prose, end + 1):
            return ProseFinal(match["name"], prose[match.end() : end].strip())
    return None


def _matching_paren(text: str, start: int) -> int | None:
    """Index of the parenthesis closing the one at `start`; quotes are skipped when balanced."""
    depth, index, quote = 0, start, ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif text.startswith(quote, index):
                index += len(quote) - 1
                quote = ""
        elif char in "'\"" and _closes_later(text, index):
            quote = text[index : index + 3] if text.startswith(char * 3, index) else char
            index += len(quote) - 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _closes_later(text: str, index: int) -> bool:
    """A quote opens a string only if it is closed again (an apostrophe in prose is not)."""
    char = text[index]
    if text.startswith(char * 3, index):
        return text.find(char * 3, index + 3) != -1
    closing = text.find(char, index + 1)
    return closing != -1 and "\n" not in text[index:closing]
