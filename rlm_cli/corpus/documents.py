"""Document (a str with .path, grep, chunks and PDF pages) and MappedDocument (its lazy twin).

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from rlm_cli.corpus.chunks import Chunk, line_spans
from rlm_cli.corpus.cite import SpanCiter, cite_lines
from rlm_cli.corpus.grep import (
    MAX_MATCHES,
    GrepResult,
    Match,
    Patterns,
    Searcher,
    compile_pattern,
    search,
)
from rlm_cli.corpus.lines import Lines, text_lines
from rlm_cli.corpus.readers import MappedReader
from rlm_cli.corpus.scan import Scanner, text_scanner
from rlm_cli.corpus.text import TextLike
from rlm_cli.units import nbytes


class Info(NamedTuple):
    """What the manifest says about one document (a tuple: thousands are made per ingest)."""

    path: str
    file: str
    encoding: str = "utf-8"
    size: int = 0
    kind: str = "text"
    note: str | None = None
    pages: tuple[int, ...] | None = None  # offsets where PDF pages start
    mapped: bool = False
    chars: int | None = None  # the length in characters, when known without reading
    offset: int = 0  # bytes to skip at the start of a mapped file (a BOM)
    end: int | None = None  # bytes of `file` ingested: reads stop there (None: the whole file)

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Info:
        """The Info of one manifest entry."""
        pages = entry.get("pages")
        return cls(
            path=entry["path"], file=entry["file"], encoding=entry.get("encoding") or "utf-8",
            size=entry.get("size", 0), kind=entry.get("kind", "text"), note=entry.get("note"),
            pages=tuple(pages) if pages else None, mapped=bool(entry.get("mmap")),
            chars=entry.get("chars"), offset=entry.get("offset", 0), end=entry.get("end"),
        )


def summary_repr(info: Info) -> str:
    """The short repr of a document (never its text)."""
    details = [nbytes(info.size), info.kind, info.encoding]
    if info.pages:
        details.append(f"{len(info.pages)} pages")
    if info.mapped:
        details.append("memory-mapped")
    return f"<{'MappedDocument' if info.mapped else 'Document'} {info.path!r}: {', '.join(details)}>"


def grep_pieces(
    info: Info, pieces: Iterable[tuple[int, str]], regex: Searcher, context_lines: int, limit: int,
) -> tuple[list[Match], bool]:
    """Matches (one per line) in a document's (offset, text) pieces; True if `limit` stopped it."""
    return search(regex, pieces, path=info.path, page_starts=info.pages, context_lines=context_lines, limit=limit)


def whole_lines(pieces: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """(offset, text) pieces re-cut to end after a newline, so no line is split between two
    (a block may end inside a line longer than a block's newline reach)."""
    carry, carry_at = "", 0
    for base, piece in pieces:
        text = carry + piece if carry else piece
        start = base - len(carry)
        cut = text.rfind("\n") + 1
        if cut == len(text):
            carry = ""
            yield start, text
        elif cut:
            carry, carry_at = text[cut:], start + cut
            yield start, text[:cut]
        else:
            carry, carry_at = text, start
    if carry:
        yield carry_at, carry


def grep_text(
    info: Info, text: str, start: int, end: int, regex: Searcher, context_lines: int, limit: int,
    newline_counts: dict[int, int],
) -> tuple[list[Match], bool]:
    """Matches (one per line) in text[start:end], a document held in memory; True if `limit` stopped it.

    Through a literal prefilter with str.find where the pattern allows, else line by line.
    `newline_counts`: kept by the caller, so later greps of the same text count no newline twice."""
    if info.pages is None and isinstance(regex, re.Pattern):
        found = text_scanner(text, start, end, newline_counts).grep(regex, info.path, context_lines, limit)
        if found is not None:
            return found
    whole = text if start == 0 and end == len(text) else text[start:end]
    return grep_pieces(info, ((0, whole),), regex, context_lines, limit)


class _DocumentMethods:
    """What both document forms offer beyond str behaviour: metadata, pages, grep, chunks."""

    _info: Info

    if TYPE_CHECKING:  # provided by each form; not defined here, so str's own __len__ stays

        def __len__(self) -> int: ...

        def _slice(self, start: int, end: int) -> str: ...

        def _line_pieces(self) -> Iterable[tuple[int, str]]: ...

    @property
    def path(self) -> str:
        """The document's path, as in context.files."""
        return self._info.path

    @property
    def file(self) -> str:
        """Where its text is read from (a spool file for stdin and PDFs)."""
        return self._info.file

    @property
    def encoding(self) -> str:
        """The codec its bytes were decoded with."""
        return self._info.encoding

    @property
    def size(self) -> int:
        """Its size in bytes, as read."""
        return self._info.size

    @property
    def kind(self) -> str:
        """"text", "pdf" or "stdin"."""
        return self._info.kind

    @property
    def note(self) -> str | None:
        """A caveat from reading it (undecodable bytes, pages without text), or None."""
        return self._info.note

    @property
    def page_starts(self) -> list[int] | None:
        """Offsets where each PDF page starts (None for other documents)."""
        return list(self._info.pages) if self._info.pages else None

    @property
    def mapped(self) -> bool:
        """True for a memory-mapped document (the lazy form, not a str)."""
        return self._info.mapped

    @property
    def page_count(self) -> int:
        """Pages of a PDF (0 for other documents)."""
        return len(self._info.pages or ())

    def page(self, number: int) -> str:
        """The text of page `number` of a PDF, counting from 1."""
        starts = self._info.pages
        if not starts:
            raise ValueError(f"{self.path} has no pages (only PDFs do)")
        if not 1 <= number <= len(starts):
            raise IndexError(f"{self.path} has pages 1 to {len(starts)}, not {number}")
        end = starts[number] if number < len(starts) else len(self)
        text = self._slice(starts[number - 1], end)
        return text.split("\n", 1)[1] if text.startswith("--- page ") else text

    @property
    def pages(self) -> list[str]:
        """The text of every PDF page, in order."""
        return [self.page(number) for number in range(1, self.page_count + 1)]

    def grep(
        self, pattern: Patterns | Searcher, *, ignore_case: bool = False, context_lines: int = 0,
        max_matches: int = MAX_MATCHES,
    ) -> GrepResult:
        """Lines of this document matching a regular expression; see context.grep."""
        regex = compile_pattern(pattern, ignore_case)
        matches, truncated = self._grep(regex, context_lines, max_matches)
        return GrepResult(matches, pattern=regex.pattern, max_matches=max_matches, truncated=truncated)

    def _grep(self, regex: Searcher, context_lines: int, limit: int) -> tuple[list[Match], bool]:
        """Matches (one per line) and whether `limit` stopped the search."""
        return grep_pieces(self._info, self._line_pieces(), regex, context_lines, limit)

    def chunks(self, max_chars: int, overlap: int = 0) -> list[Chunk]:
        """This document in pieces of at most max_chars, cut after a newline where possible."""
        citer = SpanCiter([(self.path, self._info.pages)], [0], [""], len(self))
        return [
            Chunk(text, number=index, start=start, end=end, paths=(self.path,), cite=citer.cite(start, text))
            for index, (start, end, text) in enumerate(line_spans(self._slice, 0, len(self), max_chars, overlap))
        ]

    def cite(self, line: int, last: int | None = None) -> str:
        """A citation of line `line` (to `last`) of this document, for an answer: `path:line`."""
        return cite_lines(self.path, line, last)

    def __repr__(self) -> str:
        return summary_repr(self._info)


class Document(_DocumentMethods, str):
    """One input document: a str (its whole text) with .path, .grep(), .chunks(), .page(n).

    repr() is a short summary, not the text: print(document) or a slice shows the text.
    """

    _info: Info
    _newline_counts: dict[int, int]

    def __new__(cls, text: str, info: Info) -> Document:
        document = super().__new__(cls, text)
        document._info = info
        document._newline_counts = {}
        return document

    def __str__(self) -> str:
        return self  # already a str: no copy of a large text

    def __reduce__(self) -> tuple[Any, ...]:
        return Document, (str.__getitem__(self, slice(None)), self._info)

    def _slice(self, start: int, end: int) -> str:
        return str.__getitem__(self, slice(start, end))

    def _line_pieces(self) -> Iterable[tuple[int, str]]:
        return ((0, self),)

    def _grep(self, regex: Searcher, context_lines: int, limit: int) -> tuple[list[Match], bool]:
        return grep_text(self._info, self, 0, len(self), regex, context_lines, limit, self._newline_counts)

    @property
    def text(self) -> str:
        """The document's text (the document itself: it is a str)."""
        return self

    @property
    def known_length(self) -> int:
        """The length in characters (always known: the text is in memory)."""
        return len(self)

    def head(self, max_chars: int) -> str:
        """The first max_chars characters."""
        return self._slice(0, max_chars)

    def lines(self) -> Lines:
        """The lines without their ends, as a lazy sequence (len, index, slice, iterate) split at
        "\\n" and "\\r\\n": unlike splitlines(), no list of every line is made."""
        return Lines([text_lines(self, 0, len(self))], splitlines=True)


class MappedDocument(_DocumentMethods, TextLike):
    """One memory-mapped input document, never loaded whole: the lazy form of Document.

    len(), slices, `in`, .count(), .find(), .grep(), .chunks() and .head() read it in blocks;
    operations that need the whole text as one str are refused with a hint.
    """

    def __init__(self, info: Info, *, buffered: bool = False) -> None:
        """`buffered`: read with pread, never a memory map (see MappedReader)."""
        self._info = info
        end = info.size if info.end is None else info.end
        self._store = MappedReader(info.file, info.encoding, info.offset, end, buffered=buffered)

    def __len__(self) -> int:
        return self._store.length

    def __bool__(self) -> bool:
        return True  # a mapped file is never empty (it passed the mapping threshold)

    def _subject(self) -> str:
        return f"document {self.path!r}"

    def _instead(self) -> str:
        return "use its .grep(pattern) to search it, .chunks(max_chars) to walk it in pieces, or str(document[a:b]) for a slice"

    def _pieces(self, start: int, end: int) -> Iterable[str]:
        return self._store.pieces(start, end)

    def _slice(self, start: int, end: int) -> str:
        return self._store.slice(start, end)

    def _line_pieces(self) -> Iterable[tuple[int, str]]:
        return whole_lines(self._store.line_pieces())

    @property
    def known_length(self) -> int | None:
        """The length in characters once a scan has counted it, else None."""
        return self._store.known_length

    def _line_parts(self) -> list[Sequence[str]] | None:
        lines = self._store.split_lines()
        return None if lines is None else [lines]

    def _grep(self, regex: Searcher, context_lines: int, limit: int) -> tuple[list[Match], bool]:
        """Through a byte scan with a literal prefilter where the pattern allows, else decoded block by block."""
        scanner = self._store.scanner()
        if scanner is not None and isinstance(regex, re.Pattern):
            found = scanner.grep(regex, self.path, context_lines, limit)
            if found is not None:
                return found
        return super()._grep(regex, context_lines, limit)

    def _whole_scan(self, sub: object, start: int | None, end: int | None) -> Scanner[bytes] | None:
        """Byte scans for a search of the whole document for a str, when its encoding allows them."""
        return self._store.scanner() if isinstance(sub, str) and start is None and end is None else None

    def count(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """Non-overlapping occurrences of `sub` (as str.count); over the whole document, counted on bytes."""
        scanner = self._whole_scan(sub, start, end)
        counted = scanner.count(sub) if scanner is not None else None
        return super().count(sub, start, end) if counted is None else counted

    def __contains__(self, sub: object) -> bool:
        scanner = self._whole_scan(sub, None, None)
        position = scanner.find(sub) if scanner is not None and isinstance(sub, str) else None
        return super().__contains__(sub) if position is None else position != -1

    def find(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """Lowest offset where `sub` starts within [start:end], or -1 (as str.find); found on bytes when whole."""
        scanner = self._whole_scan(sub, start, end)
        position = scanner.find(sub) if scanner is not None else None
        if position is None:
            return super().find(sub, start, end)
        return -1 if position == -1 else self._store.char_offset(position)

    def head(self, max_chars: int) -> str:
        """The first max_chars characters, without scanning the document."""
        return self._store.head(max_chars)
