"""Grep over a document's text: Match, GrepResult, pattern compiling and the line-by-line search.

Standard library only.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rlm_cli.corpus.cite import cite_lines, cite_pages

MAX_MATCHES = 1000
_SHOWN_LINE = 240  # characters of a matched line a repr shows


@dataclass
class Match:
    """One grep hit: path, 1-based line number, the line (and context lines when asked)."""

    path: str
    line_no: int
    line: str
    column: int = 0
    page: int | None = None
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line_no}" + (f" (page {self.page})" if self.page else "")
        first = self.line_no - len(self.before)
        rows = [f"{self.path}-{first + i}- {_clip(text, 0)}" for i, text in enumerate(self.before)]
        rows.append(f"{where}: {_clip(self.line, self.column)}")
        rows += [f"{self.path}-{self.line_no + i + 1}- {_clip(text, 0)}" for i, text in enumerate(self.after)]
        return "\n".join(rows)

    __repr__ = __str__

    @property
    def cite(self) -> str:
        """This hit as a citation for an answer: `path:line`, or `path#page=N` in a PDF."""
        return cite_pages(self.path, self.page) if self.page else cite_lines(self.path, self.line_no)


class Found(Protocol):
    """What a grep reads from a search hit."""

    def start(self) -> int: ...


class Searcher(Protocol):
    """What a grep needs of a compiled pattern: a re.Pattern, or another engine's (the host's
    sub-LLM tool passes one with a time limit)."""

    @property
    def pattern(self) -> str: ...

    def search(self, string: str, pos: int = 0, /) -> Found | None: ...


class GrepResult(list[Match]):
    """The matches of a grep, in corpus order; `truncated` says max_matches stopped it early."""

    def __init__(self, matches: Iterable[Match], *, pattern: str, max_matches: int, truncated: bool) -> None:
        super().__init__(matches)
        self.pattern = pattern
        self.max_matches = max_matches
        self.truncated = truncated

    @property
    def paths(self) -> list[str]:
        """The paths with at least one match, in order."""
        return list(dict.fromkeys(match.path for match in self))

    def __str__(self) -> str:
        if not self:
            return f"(no matches for {self.pattern!r})"
        rows = [str(match) for match in self]
        if self.truncated:
            rows.append(
                f"[stopped at max_matches={self.max_matches}: there are more matches; narrow the "
                "pattern, pass paths=..., or raise max_matches]"
            )
        return "\n".join(rows)

    __repr__ = __str__


Patterns = str | list[str] | tuple[str, ...]  # several patterns: a line matching any of them


def compile_pattern(pattern: Patterns | Searcher, ignore_case: bool) -> Searcher:
    """The pattern compiled for line search; a bad one raises ValueError with a hint.

    A list of patterns matches a line that any of them matches. A re.Pattern is recompiled with
    MULTILINE (and IGNORECASE); another engine's compiled pattern is used as it is, its flags included.
    """
    flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
    if isinstance(pattern, (list, tuple)):
        if not pattern or not all(isinstance(part, str) for part in pattern):
            raise ValueError("a list of patterns must hold at least one str pattern")
        pattern = "|".join(f"(?:{part})" for part in pattern)
    if isinstance(pattern, re.Pattern):
        return re.compile(pattern.pattern, pattern.flags | flags)
    if not isinstance(pattern, str):
        return pattern
    try:
        return re.compile(pattern, flags)
    except re.error as error:
        raise ValueError(f"bad regular expression {pattern!r}: {error} (re.escape(text) matches text literally)") from None


def search(
    regex: Searcher, pieces: Iterable[tuple[int, str]], *, path: str,
    page_starts: Sequence[int] | None, context_lines: int, limit: int,
) -> tuple[list[Match], bool]:
    """Matches (one per line) in (offset, text) pieces cut after newlines; True if `limit` stopped it."""
    matches: list[Match] = []
    waiting: list[Match] = []  # matches still short of after-context lines
    tail: list[str] = []  # the previous piece's last lines, for before-context
    line_no = 1
    previous: tuple[str, int] | None = None  # the last piece and how far its newlines are counted
    for base, piece in pieces:
        if previous is not None:  # counted only when a next piece needs the line number
            line_no += previous[0].count("\n", previous[1])
        if waiting:
            _fill_after(waiting, piece, context_lines)
        position = counted = 0
        while (found := regex.search(piece, position)) is not None:
            hit = found.start()
            if hit == len(piece) and (not piece or piece.endswith("\n")):
                break  # the empty "line" after a final newline is not a line
            if len(matches) == limit:
                return matches, True
            line_start = piece.rfind("\n", 0, hit) + 1
            line_end = piece.find("\n", hit)
            line_end = len(piece) if line_end == -1 else line_end
            line_no += piece.count("\n", counted, line_start)
            counted = line_start
            match = Match(
                path, line_no, piece[line_start:line_end].removesuffix("\r"), column=hit - line_start,
                page=bisect.bisect_right(page_starts, base + line_start) if page_starts else None,
            )
            if context_lines:
                match.before = _lines_before(piece, line_start, context_lines, tail)
                match.after = _lines_after(piece, line_end, context_lines)
                if len(match.after) < context_lines:
                    waiting.append(match)
            matches.append(match)
            position = line_end + 1
        previous = piece, counted
        if context_lines:
            tail = piece.rsplit("\n", context_lines + 1)[-context_lines - 1 : -1]
    return matches, False


def _lines_before(piece: str, line_start: int, wanted: int, tail: list[str]) -> list[str]:
    start = line_start
    for _ in range(wanted):
        if start == 0:
            break
        start = piece.rfind("\n", 0, start - 1) + 1
    lines = piece[start : max(start, line_start - 1)].split("\n") if start < line_start else []
    if start == 0 and len(lines) < wanted:
        lines = tail[len(tail) - (wanted - len(lines)) :] + lines
    return [line.removesuffix("\r") for line in lines]


def _lines_after(piece: str, line_end: int, wanted: int) -> list[str]:
    end = line_end
    for _ in range(wanted):  # only as far as the lines wanted: the rest may be huge
        end = piece.find("\n", end + 1)
        if end == -1:
            end = len(piece)
            break
    return _first_lines(piece[line_end + 1 : end + 1], wanted) if line_end + 1 < len(piece) else []


def _fill_after(waiting: list[Match], piece: str, wanted: int) -> None:
    lines = _first_lines(piece, wanted)
    for match in waiting:
        match.after.extend(lines[: wanted - len(match.after)])
    waiting.clear()


def _first_lines(text: str, wanted: int) -> list[str]:
    parts = text.split("\n", wanted)
    if len(parts) <= wanted and parts[-1] == "":
        parts.pop()  # what follows a final newline is not a line
    return [line.removesuffix("\r") for line in parts[:wanted]]


def _clip(line: str, column: int) -> str:
    if len(line) <= _SHOWN_LINE:
        return line
    start = max(0, min(column - _SHOWN_LINE // 4, len(line) - _SHOWN_LINE))
    shown = line[start : start + _SHOWN_LINE]
    return ("…" if start else "") + shown + ("…" if start + _SHOWN_LINE < len(line) else "") + f" [{len(line):,} chars]"
