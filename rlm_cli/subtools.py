"""Tools a sub-LLM may use on the corpus (read, grep): their schemas and their execution.

The root model never gets these: its only tool is the REPL.
"""

from __future__ import annotations

import json
from typing import Any

TOOL_NAMES = ("read", "grep")
RESULT_LIMIT = 20_000

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


def run_tool(corpus: Any, name: str, raw_arguments: str) -> str:
    """Run one tool call against the corpus; errors come back as text for the sub-LLM."""
    try:
        arguments = json.loads(raw_arguments or "{}")
        if name == "read":
            return _clip(_read(corpus, **arguments))
        if name == "grep":
            return _clip(_grep(corpus, **arguments))
        return f"Error: unknown tool {name!r}"
    except Exception as error:
        return f"Error: {type(error).__name__}: {error}"


def _read(corpus: Any, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
    text = corpus.read(path)
    if start_line is None and end_line is None:
        return text
    lines = text.splitlines()
    first = max(1, start_line or 1)
    last = min(len(lines), end_line or len(lines))
    return "\n".join(f"{n}: {lines[n - 1]}" for n in range(first, last + 1))


def _grep(corpus: Any, pattern: str, ignore_case: bool = False, max_matches: int = 200) -> str:
    matches = corpus.grep(pattern, ignore_case=ignore_case, max_matches=max_matches)
    lines = [f"{m.path}:{m.line_no}: {m.line}" for m in matches]
    return "\n".join(lines) if lines else "(no matches)"


def _clip(text: str) -> str:
    if len(text) <= RESULT_LIMIT:
        return text
    return text[:RESULT_LIMIT] + f"\n... [{len(text):,} characters in all; cut]"
