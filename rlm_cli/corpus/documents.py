"""Document: one input file as a lazily read str-like object, with grep, chunks and PDF pages.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from rlm_cli.corpus.chunks import Chunk, line_spans
from rlm_cli.corpus.describe import human
from rlm_cli.corpus.grep import MAX_MATCHES, GrepResult, Match, compile_pattern, search
from rlm_cli.corpus.readers import LoadedReader, MappedReader, TextCache
from rlm_cli.corpus.text import TextLike


class Document(TextLike):
    """One input document, read lazily. Works like a str; also .grep(), .chunks(), .page(n)."""

    def __init__(self, entry: dict[str, Any], cache: TextCache | None = None) -> None:
        self.path: str = entry["path"]
        self.file: str = entry["file"]
        self.encoding: str = entry.get("encoding") or "utf-8"
        self.size: int = entry.get("size", 0)
        self.kind: str = entry.get("kind", "text")
        self.note: str | None = entry.get("note")
        self.page_starts: list[int] | None = entry.get("pages")
        self.mapped: bool = bool(entry.get("mmap"))
        self._store: LoadedReader | MappedReader
        if self.mapped:
            self._store = MappedReader(self.file, self.encoding, entry.get("offset", 0), self.size)
        else:
            self._store = LoadedReader(self.file, self.encoding, entry.get("chars"), cache or TextCache())

    def __len__(self) -> int:
        return self._store.length

    def __bool__(self) -> bool:
        return self.mapped or len(self) > 0

    def _pieces(self, start: int, end: int) -> Iterator[str]:
        return self._store.pieces(start, end)

    def _slice(self, start: int, end: int) -> str:
        return self._store.slice(start, end)

    @property
    def text(self) -> str:
        """The whole document as one str (loads it)."""
        return self._store.text()

    @property
    def known_length(self) -> int | None:
        """The length in characters when known without reading the file (mapped: after a scan)."""
        return self._store.known_length

    @property
    def page_count(self) -> int:
        """Pages of a PDF (0 for other documents)."""
        return len(self.page_starts or ())

    def page(self, number: int) -> str:
        """The text of page `number` of a PDF, counting from 1."""
        if not self.page_starts:
            raise ValueError(f"{self.path} has no pages (only PDFs do)")
        if not 1 <= number <= len(self.page_starts):
            raise IndexError(f"{self.path} has pages 1 to {len(self.page_starts)}, not {number}")
        ends = [*self.page_starts[1:], len(self)]
        text = self._slice(self.page_starts[number - 1], ends[number - 1])
        return text.split("\n", 1)[1] if text.startswith("--- page ") else text

    @property
    def pages(self) -> list[str]:
        """The text of every PDF page, in order."""
        return [self.page(number) for number in range(1, self.page_count + 1)]

    def grep(
        self, pattern: str | re.Pattern[str], *, ignore_case: bool = False, context_lines: int = 0,
        max_matches: int = MAX_MATCHES,
    ) -> GrepResult:
        """Lines of this document matching a regular expression; see Corpus.grep."""
        regex = compile_pattern(pattern, ignore_case)
        matches, truncated = self._grep(regex, context_lines, max_matches)
        return GrepResult(matches, pattern=regex.pattern, max_matches=max_matches, truncated=truncated)

    def chunks(self, max_chars: int, overlap: int = 0) -> list[Chunk]:
        """This document in pieces of at most max_chars, cut after a newline where possible."""
        return [
            Chunk(text, number=index, start=start, end=end, paths=(self.path,))
            for index, (start, end, text) in enumerate(line_spans(self._slice, 0, len(self), max_chars, overlap))
        ]

    def head(self, max_chars: int) -> str:
        """The first max_chars characters, without scanning a mapped document."""
        return self._store.head(max_chars)

    def _grep(self, regex: re.Pattern[str], context_lines: int, limit: int) -> tuple[list[Match], bool]:
        """Matches (one per line) and whether `limit` stopped the search."""
        return search(
            regex, self._store.line_pieces(), path=self.path, page_starts=self.page_starts,
            context_lines=context_lines, limit=limit,
        )

    def __repr__(self) -> str:
        details = [human(self.size), self.kind, self.encoding]
        if self.page_starts:
            details.append(f"{len(self.page_starts)} pages")
        if self.mapped:
            details.append("memory-mapped")
        return f"<Document {self.path!r}: {', '.join(details)}>"
