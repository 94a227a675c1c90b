"""What both corpus forms offer over their joined text: files, documents, lookup, grep, chunks.

The joined text is every document as `=== path ===` then its text, joined by newlines; a single
document is its text alone. Standard library only.
"""

from __future__ import annotations

import bisect
import difflib
import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, overload

from rlm_cli.corpus.chunks import Chunk, file_spans, line_spans
from rlm_cli.corpus.cite import SpanCiter
from rlm_cli.corpus.describe import overview, plural
from rlm_cli.corpus.documents import Document, Info, MappedDocument, summary_repr
from rlm_cli.corpus.grep import MAX_MATCHES, GrepResult, Match, Patterns, Searcher, compile_pattern
from rlm_cli.units import nbytes

AnyDocument = Document | MappedDocument
_SHOWN_DOCUMENTS = 20  # documents a repr of context.documents lists


class Skipped(NamedTuple):
    """An input left out of the corpus, and why."""

    path: str
    reason: str


def headers(infos: Sequence[Info]) -> list[str]:
    """The `=== path ===` line before each document ("" for a single document)."""
    return [""] if len(infos) == 1 else [f"=== {info.path} ===\n" for info in infos]


def numbers(infos: Sequence[Info]) -> dict[str, int]:
    """Each document's position, by path."""
    return {info.path: number for number, info in enumerate(infos)}


class CorpusMethods:
    """The corpus API over a joined text; each form supplies the text and its documents."""

    _infos: list[Info]
    _headers: list[str]
    _numbers: dict[str, int]
    skipped: list[Skipped]

    if TYPE_CHECKING:  # provided by each form; not defined here, so str's own methods stay

        def __len__(self) -> int: ...

        def _slice(self, start: int, end: int) -> str: ...

        def _starts(self) -> list[int]: ...

        def _document(self, number: int) -> AnyDocument: ...

        def _known_length(self, number: int) -> int | None: ...

        def _head(self, number: int, max_chars: int) -> str: ...

        def _grep_document(
            self, number: int, regex: Searcher, context_lines: int, limit: int,
        ) -> tuple[list[Match], bool]: ...

        @property
        def mapped(self) -> bool: ...

    @property
    def files(self) -> list[str]:
        """The path of every document, in order."""
        return [info.path for info in self._infos]

    @property
    def documents(self) -> Documents:
        """The documents, in order: each a str (its text) with .path; for per-file work."""
        return Documents(self)

    def document(self, path: str) -> AnyDocument:
        """The document at a path (exact, or a unique path ending); KeyError names close ones."""
        return self._document(self._number(path))

    def _number(self, path: str) -> int:
        if path in self._numbers:
            return self._numbers[path]
        paths = self.files
        wanted = path.removeprefix("./")
        found = [number for number, known in enumerate(paths) if known == wanted or known.endswith("/" + wanted)]
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyError(f"{path!r} is ambiguous: {', '.join(paths[number] for number in found[:5])}")
        close = difflib.get_close_matches(path, paths, n=3)
        raise KeyError(f"no document {path!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))

    def read(self, path: str) -> AnyDocument:
        """One document by its path (as in context.files): a str of its whole text, with .path."""
        return self.document(path)

    def locate(self, offset: int) -> tuple[str, int]:
        """(path, offset within that document) for an offset into the joined text."""
        if not 0 <= offset < len(self):
            raise IndexError(f"offset {offset} out of range for length {len(self)}")
        starts = self._starts()
        number = bisect.bisect_right(starts, offset) - 1
        body = starts[number] + len(self._headers[number])
        return self._infos[number].path, max(0, offset - body)

    def grep(
        self, pattern: Patterns | Searcher, *, paths: str | Iterable[str] | None = None,
        ignore_case: bool = False, context_lines: int = 0, max_matches: int = MAX_MATCHES,
    ) -> GrepResult:
        """Search every document line by line for a regular expression (Python re syntax), or for
        any of a list of them.

        Returns a list of matches, each with .path, .line_no (from 1), .line, and .before /
        .after (context_lines lines each side) and .page for PDFs; printing it shows
        `path:line: text`. paths: a path, a glob ("src/*.py", "*.md") or a list of them.
        Stops after max_matches and says so (result.truncated). Use re.escape(s) for literal s.
        """
        regex = compile_pattern(pattern, ignore_case)
        found: list[Match] = []
        truncated = False
        for number in self._select(paths):
            matches, truncated = self._grep_document(number, regex, context_lines, max_matches - len(found))
            found.extend(matches)
            if truncated:
                break
        return GrepResult(found, pattern=regex.pattern, max_matches=max_matches, truncated=truncated)

    def _select(self, paths: str | Iterable[str] | None) -> range | list[int]:
        if paths is None:
            return range(len(self._infos))
        wanted = [paths] if isinstance(paths, str) else list(paths)
        return [
            number for number, info in enumerate(self._infos)
            if any(
                info.path == pattern or fnmatch.fnmatchcase(info.path, pattern)
                or ("/" not in pattern and fnmatch.fnmatchcase(info.path.rsplit("/", 1)[-1], pattern))
                for pattern in wanted
            )
        ]

    def chunks(self, max_chars: int, overlap: int = 0, by: str = "lines") -> list[Chunk]:
        """Pieces of at most max_chars characters, ready for llm_batch; each knows its source.

        by="lines": the joined text cut after a newline (a chunk may span several files).
        by="files": whole documents packed together; a document larger than max_chars is cut
        by lines. overlap repeats that many characters (whole lines where possible) between
        neighbouring pieces. Each chunk is a str with .path, .paths, .start, .end, .number and
        .cite (its source as a citation, e.g. "src/app.py:1-80").
        For a huge input, iter_chunks() gives the same pieces one at a time.
        """
        return list(self.iter_chunks(max_chars, overlap, by))

    def iter_chunks(self, max_chars: int, overlap: int = 0, by: str = "lines") -> Iterator[Chunk]:
        """The pieces of chunks(), one at a time (bounded memory)."""
        if by == "lines":
            spans = line_spans(self._slice, 0, len(self), max_chars, overlap)
        elif by == "files":
            spans = file_spans(self._slice, self._starts(), len(self), max_chars, overlap)
        else:
            raise ValueError(f'by must be "lines" or "files", not {by!r}')
        citer = SpanCiter([(info.path, info.pages) for info in self._infos], self._starts(), self._headers, len(self))
        for index, (start, end, text) in enumerate(spans):
            cite = citer.cite(start, text)
            yield Chunk(text, number=index, start=start, end=end, paths=self._paths_between(start, end), cite=cite)

    def _paths_between(self, start: int, end: int) -> tuple[str, ...]:
        starts = self._starts()
        first = max(0, bisect.bisect_right(starts, start) - 1)
        last = bisect.bisect_left(starts, end)
        return tuple(info.path for info in self._infos[first:last])

    def summary(self) -> dict[str, int]:
        """Counts for the run summary and the `--json` input block."""
        return {
            "documents": len(self._infos),
            "bytes": sum(info.size for info in self._infos),
            "skipped": len(self.skipped),
        }

    @property
    def size(self) -> int:
        """The input's size in bytes, as read."""
        return sum(info.size for info in self._infos)

    def describe(self, max_chars: int = 4000) -> str:
        """A bounded overview for the root model: which form `context` has, counts, sizes, a tree, a preview."""
        return overview(self, max_chars)

    def __repr__(self) -> str:
        summary = self.summary()
        skipped = f", {summary['skipped']} skipped" if summary["skipped"] else ""
        form = "lazy memory-mapped text" if self.mapped else f"str of {len(self):,} chars"
        return (
            f"<{type(self).__name__}: {form}, {plural(summary['documents'], 'document')}, {nbytes(summary['bytes'])}"
            f"{skipped}. print(context.describe()) for an overview, help(context) for what it can do>"
        )


class Documents(Sequence[AnyDocument]):
    """context.documents: each document in order, made when asked for (no second copy kept)."""

    def __init__(self, corpus: CorpusMethods) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return len(self._corpus._infos)

    @overload
    def __getitem__(self, index: int) -> AnyDocument: ...

    @overload
    def __getitem__(self, index: slice) -> list[AnyDocument]: ...

    def __getitem__(self, index: int | slice) -> AnyDocument | list[AnyDocument]:
        if isinstance(index, slice):
            return [self._corpus._document(number) for number in range(len(self))[index]]
        return self._corpus._document(range(len(self))[index])

    def __iter__(self) -> Iterator[AnyDocument]:
        for number in range(len(self)):
            yield self._corpus._document(number)

    def __repr__(self) -> str:
        shown = [summary_repr(info) for info in self._corpus._infos[:_SHOWN_DOCUMENTS]]
        if len(self) > _SHOWN_DOCUMENTS:
            shown.append(f"... {len(self) - _SHOWN_DOCUMENTS:,} more")
        return "[" + ", ".join(shown) + "]"
