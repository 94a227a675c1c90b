"""Text from outside (model replies, code, cell output, file names, answers) made safe for a terminal.

A terminal obeys control characters: ESC starts sequences that set the window title, write the
clipboard (OSC 52), clear the screen or plant hyperlinks (OSC 8), and bidi overrides reorder
what is shown. Every such character becomes a visible escape such as `\\x1b`. Leaf module.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

# C0 controls but tab and newline, DEL, C1 controls, and the Unicode bidi embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

E = TypeVar("E")


def visible(text: str) -> str:
    """`text` with every terminal control character written out as an escape; CRLF becomes LF."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text.replace("\r\n", "\n"))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible_value(value: Any) -> Any:
    """`visible` applied to every str inside lists, tuples and dicts (keys too); others as they are."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, list | tuple):
        cleaned = [visible_value(item) for item in value]
        return cleaned if isinstance(value, list) else tuple(cleaned)
    if isinstance(value, dict):
        return {visible_value(key): visible_value(item) for key, item in value.items()}
    return value


def visible_event(event: E) -> E:
    """A copy of a frozen event dataclass with every text field made terminal-safe."""
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        return event
    changes = {}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        cleaned = visible_value(value)
        if cleaned is not value and cleaned != value:
            changes[field.name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event
