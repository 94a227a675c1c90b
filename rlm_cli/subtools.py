"""Tools a sub-LLM may use on the corpus (read, grep): their schemas and their execution.

The root model never gets these: its only tool is the REPL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import regex

from rlm_cli.corpus.chunks import line_spans

if TYPE_CHECKING:
    from rlm_cli.corpus.grep import Found
    from rlm_cli.corpus.joined import AnyDocument
    from rlm_cli.corpus.lazy import LazyCorpus

TOOL_NAMES = ("read", "grep")
RESULT_LIMIT = 20_000
_WINDOW = 1 << 20  # characters a ranged read takes from the document at a time
GREP_SECONDS = 10.0  # how long one grep call may search (a pattern can backtrack for hours)

_SCHEMAS: dict[str, dict[str, Any]] = {
    "read": {
        "type": "function",
        "function": {
            "name": "read",
            "description": "Read one document of the input, optionally only a range of lines.",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "The document's path, as listed."},
                    "start_line": {"type": "integer", "description": "First line (1-based)."},
                    "end_line": {"type": "integer", "description": "Last line (inclusive)."},
                },
                "required": ["path"],
            },
        },
    },
    "grep": {
        "type": "function",
        "function": {
            "name": "grep",
            "description": "Search the input with a regular expression; returns path:line: text.",
            "parameters": {
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "A Python regular expression."},
                    "ignore_case": {"type": "boolean"},
                    "max_matches": {"type": "integer"},
                },
                "required": ["pattern"],
            },
        },
    },
}


def tool_schemas(names: list[str]) -> list[dict[str, Any]]:
    """OpenAI-style function schemas for the named tools; unknown names raise ValueError."""
    unknown = [name for name in names if name not in _SCHEMAS]
    if unknown:
        raise ValueError(f"unknown tool(s) {', '.join(unknown)}; available: {', '.join(TOOL_NAMES)}")
    return [_SCHEMAS[name] for name in names]


def run_tool(corpus: LazyCorpus, name: str, raw_arguments: str) -> str:
    """Run one tool call against the corpus; errors come back as text for the sub-LLM."""
    try:
        arguments = json.loads(raw_arguments or "{}")
        if name == "read":
            return _read(corpus, **arguments)  # bounded by RESULT_LIMIT itself
        if name == "grep":
            return _clip(_grep(corpus, **arguments))
        return f"Error: unknown tool {name!r}"
    except Exception as error:
        return f"Error: {type(error).__name__}: {error}"


def _read(corpus: LazyCorpus, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
    document = corpus.document(path)
    if start_line is None and end_line is None:
        return _read_start(document)
    return _read_lines(document, max(1, start_line or 1), end_line)


def _read_start(document: AnyDocument) -> str:
    """The document when it fits the limit, else its start and how long it is (no full read)."""
    head = document.head(RESULT_LIMIT + 1)
    if len(head) <= RESULT_LIMIT:
        return head
    known = document.known_length
    size = f"{known:,} characters" if known is not None else f"{document.size:,} bytes"
    return head[:RESULT_LIMIT] + (
        f"\n... [cut at {RESULT_LIMIT:,} characters: {document.path} has {size}; "
        "read it by lines with start_line and end_line]"
    )


def _read_lines(document: AnyDocument, first: int, last: int | None) -> str:
    """Lines first..last as `n: line`, numbered as grep numbers them, read window by window."""
    if last is not None and last < first:
        return f"(no lines: end_line {last} is before start_line {first})"
    rows: list[str] = []
    size = 0
    for line_no, line in _numbered_lines(document, first, last):
        if len(line) > RESULT_LIMIT:
            line = line[:RESULT_LIMIT] + " ... [line cut]"
        row = f"{line_no}: {line}"
        if rows and size + len(row) > RESULT_LIMIT:
            return "\n".join(rows) + (
                f"\n... [cut at {RESULT_LIMIT:,} characters after line {line_no - 1}; "
                f"continue with start_line={line_no}]"
            )
        rows.append(row)
        size += len(row) + 1
    if rows:
        return "\n".join(rows)
    return f"(no lines: {document.path} has fewer than {first:,} lines)"


def _numbered_lines(document: AnyDocument, first: int, last: int | None) -> Iterator[tuple[int, str]]:
    """(number, line) for lines first..last; a line is cut at RESULT_LIMIT + 1 characters.

    Walks the document in newline-cut windows (a mapped one is never loaded whole) and splits
    only the windows that hold wanted lines.
    """
    line_no, partial = 1, ""  # partial: the start of line `line_no` when it spans windows
    windows = line_spans(lambda start, end: document[start:end], 0, len(document), _WINDOW, 0)
    for _, _, window in windows:
        newlines = window.count("\n")
        if line_no + newlines < first:  # every line this window touches comes before `first`
            line_no += newlines
            continue
        at = 0
        while (newline := window.find("\n", at)) != -1:
            if line_no >= first:
                yield line_no, (partial + window[at:newline])[: RESULT_LIMIT + 1].removesuffix("\r")
            partial, line_no, at = "", line_no + 1, newline + 1
            if last is not None and line_no > last:
                return
        partial += window[at : at + max(0, RESULT_LIMIT + 1 - len(partial))]
    if partial and (last is None or line_no <= last):  # a last line with no newline after it
        yield line_no, partial.removesuffix("\r")


def _grep(corpus: LazyCorpus, pattern: str, ignore_case: bool = False, max_matches: int = 200) -> str:
    try:
        matches = corpus.grep(TimedPattern(pattern, ignore_case, GREP_SECONDS), max_matches=max_matches)
    except TimeoutError:
        return (
            f"Error: the search took longer than {GREP_SECONDS:g} s and was stopped; "
            "use a simpler or literal pattern"
        )
    lines = [f"{m.path}:{m.line_no}: {m.line}" for m in matches]
    return "\n".join(lines) if lines else "(no matches)"


class TimedPattern:
    """A pattern compiled by the `regex` module that raises TimeoutError past a deadline.

    `regex` releases the GIL while it matches a str, so a pattern that backtracks for minutes
    leaves the rest of the host (the main loop, its limits, Ctrl-C) running meanwhile.
    """

    def __init__(self, pattern: str, ignore_case: bool, seconds: float) -> None:
        flags = regex.MULTILINE | (regex.IGNORECASE if ignore_case else 0)
        try:
            self._compiled = regex.compile(pattern, flags)
        except regex.error as error:
            raise ValueError(f"bad regular expression {pattern!r}: {error}") from None
        self.pattern = pattern
        self._deadline = time.monotonic() + seconds

    def search(self, string: str, pos: int = 0, /) -> Found | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("regex timed out")
        found: Found | None = self._compiled.search(string, pos, timeout=left)
        return found


def _clip(text: str) -> str:
    if len(text) <= RESULT_LIMIT:
        return text
    return text[:RESULT_LIMIT] + f"\n... [{len(text):,} characters in all; cut]"
