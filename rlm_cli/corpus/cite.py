"""The citation forms (`path:line`, `path:a-b`, `path#page=N`, `line N` for piped input) and the
line numbering of chunks, so models cite without arithmetic.

The one place the forms are written; the host's citation checker reads them back. Standard
library only.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

STDIN_PATH = "<stdin>"  # the path piped input gets (as ingest names it)


def cite_lines(path: str, first: int, last: int | None = None) -> str:
    """`path:first` or `path:first-last`; piped input is `line N` / `lines a-b`."""
    span = str(first) if last is None or last == first else f"{first}-{last}"
    if path == STDIN_PATH:
        return ("line " if span.isdigit() else "lines ") + span
    return f"{path}:{span}"


def cite_pages(path: str, first: int, last: int | None = None) -> str:
    """`path#page=N` or `path#page=a-b` for a PDF."""
    return f"{path}#page={first}" + ("" if last is None or last == first else f"-{last}")


class SpanCiter:
    """Citations for spans of a joined text taken in order, each starting where the last ended
    or inside it (as chunks are cut): newlines are counted in the span texts alone, never reread.

    `documents`: (path, PDF page starts or None) per document; `starts`: where each one's header
    starts in the joined text; `headers`: those headers; `length`: the joined text's length.
    """

    def __init__(
        self, documents: Sequence[tuple[str, Sequence[int] | None]], starts: Sequence[int],
        headers: Sequence[str], length: int,
    ) -> None:
        self._documents = documents
        self._bodies = [start + len(header) for start, header in zip(starts, headers, strict=True)]
        self._ends = [*(start - 1 for start in starts[1:]), length]
        self._first_lines: dict[int, int] = {}  # document -> line of the joined text its body starts on
        self._at, self._line, self._text = 0, 1, ""  # the current span: where, its first line, its text
        self._mark = (0, 1)  # the last (offset, line) counted, so each newline is counted once

    def cite(self, start: int, text: str) -> str:
        """The citation of text[start:start+len(text)]: one part per document it touches."""
        if not self._at <= start <= self._at + len(self._text):
            raise ValueError("spans must be taken in order, each touching the last")
        self._line = self._line_at(start)
        self._at, self._text, self._mark = start, text, (start, self._line)
        end = start + len(text)
        first = max(0, bisect.bisect_right(self._bodies, start) - 1)
        parts = []
        for number in range(first, len(self._bodies)):
            body, body_end = self._bodies[number], self._ends[number]
            if body >= end:
                break
            if body >= start:
                self._first_lines[number] = self._line_at(body)
            low, high = max(start, body), min(end, body_end)
            if low >= high or number not in self._first_lines:
                continue
            parts.append(self._part(number, low - body, high - body, self._line_at(low), self._line_at(high - 1)))
        return ", ".join(parts)

    def _line_at(self, offset: int) -> int:
        at, line = self._mark if self._mark[0] <= offset else (self._at, self._line)
        line += self._text.count("\n", at - self._at, offset - self._at)
        self._mark = (offset, line)
        return line

    def _part(self, number: int, low: int, high: int, first_line: int, last_line: int) -> str:
        path, pages = self._documents[number]
        if pages:
            return cite_pages(path, bisect.bisect_right(pages, low), bisect.bisect_right(pages, high - 1))
        base = self._first_lines[number] - 1
        return cite_lines(path, first_line - base, last_line - base)
