"""Corpus: the `context` object the REPL exposes, rebuilt from the ingest manifest.

Standard library only: the sandboxed worker imports it. Documents are read lazily from their
files; a document past the mmap threshold is memory-mapped and scanned in blocks, never loaded.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from rlm_cli.corpus.chunks import Chunk, file_spans, line_spans
from rlm_cli.corpus.describe import SMALL_CHARS, human, overview
from rlm_cli.corpus.documents import Document
from rlm_cli.corpus.grep import MAX_MATCHES, GrepResult, Match, compile_pattern
from rlm_cli.corpus.readers import BLOCK, TextCache
from rlm_cli.corpus.text import TextLike

__all__ = [
    "BLOCK", "MANIFEST_VERSION", "MAX_MATCHES", "SMALL_CHARS", "Chunk", "Corpus", "Document",
    "GrepResult", "Match", "Skipped", "load_manifest",
]

MANIFEST_VERSION = 1


class Skipped(NamedTuple):
    """An input left out of the corpus, and why."""

    path: str
    reason: str


class Corpus(TextLike):
    """All input documents as one text: each as `=== path ===` then its text, joined by newlines.

    A single document is its text alone, with no header, so a piped log reads exactly as it is.

    Works like a str: len(context), context[a:b], `x in context`, .count(), .find(),
    .splitlines() (and any other str method, on the whole text). Also: .files, .documents,
    .read(path) / context[path], .grep(pattern), .chunks(max_chars), .describe().
    """

    def __init__(self, documents: Iterable[Document], skipped: Iterable[Skipped] = ()) -> None:
        self.documents: list[Document] = list(documents)
        self.skipped: list[Skipped] = list(skipped)
        self._by_path = {document.path: document for document in self.documents}
        single = len(self.documents) == 1
        self._headers = ["" if single else f"=== {document.path} ===\n" for document in self.documents]
        self._layout: list[int] | None = None

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> Corpus:
        """Build a corpus from a manifest already parsed from JSON."""
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"unsupported manifest version {data.get('version')!r}")
        skipped = [Skipped(item["path"], item["reason"]) for item in data.get("skipped", ())]
        return cls.from_entries(data["documents"], skipped)

    @classmethod
    def from_entries(cls, entries: Iterable[dict[str, Any]], skipped: Iterable[Skipped] = ()) -> Corpus:
        """Build a corpus from manifest document entries (sharing one text cache)."""
        cache = TextCache()
        return cls((Document(entry, cache) for entry in entries), skipped)

    @property
    def files(self) -> list[str]:
        """The path of every document, in order."""
        return [document.path for document in self.documents]

    def _starts(self) -> list[int]:
        """Where each document's header starts in the joined text (reads mapped lengths once)."""
        if self._layout is None:
            starts, at = [], 0
            for header, document in zip(self._headers, self.documents, strict=True):
                starts.append(at)
                at += len(header) + len(document) + 1
            self._layout = starts
        return self._layout

    def __len__(self) -> int:
        if not self.documents:
            return 0
        return self._starts()[-1] + len(self._headers[-1]) + len(self.documents[-1])

    def __bool__(self) -> bool:
        return bool(self.documents)

    def _pieces(self, start: int, end: int) -> Iterator[str]:
        starts = self._starts()
        number = max(0, bisect.bisect_right(starts, start) - 1)
        while number < len(starts) and starts[number] < end:
            header, document = self._headers[number], self.documents[number]
            body = starts[number] + len(header)
            if start < body:
                yield header[max(0, start - starts[number]) : min(end, body) - starts[number]]
            body_end = body + len(document)
            if end > body and start < body_end:
                yield from document._pieces(max(start, body) - body, min(end, body_end) - body)
            if start <= body_end < end and number + 1 < len(starts):
                yield "\n"
            number += 1

    def __getitem__(self, key: int | slice | str) -> str:
        if isinstance(key, str):
            return self.read(key)
        return super().__getitem__(key)

    def document(self, path: str) -> Document:
        """The Document for a path (exact, or a unique path ending); KeyError names close ones."""
        if path in self._by_path:
            return self._by_path[path]
        wanted = path.removeprefix("./")
        found = [doc for doc in self.documents if doc.path == wanted or doc.path.endswith("/" + wanted)]
        if len(found) == 1:
            return found[0]
        if found:
            raise KeyError(f"{path!r} is ambiguous: {', '.join(doc.path for doc in found[:5])}")
        import difflib

        close = difflib.get_close_matches(path, self._by_path, n=3)
        raise KeyError(f"no document {path!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))

    def read(self, path: str) -> str:
        """The whole text of one document, by its path (as in context.files)."""
        return self.document(path).text

    def locate(self, offset: int) -> tuple[str, int]:
        """(path, offset within that document) for an offset into the joined text."""
        if not 0 <= offset < len(self):
            raise IndexError(f"offset {offset} out of range for length {len(self)}")
        number = bisect.bisect_right(self._starts(), offset) - 1
        body = self._starts()[number] + len(self._headers[number])
        return self.documents[number].path, max(0, offset - body)

    def grep(
        self, pattern: str | re.Pattern[str], *, paths: str | Iterable[str] | None = None,
        ignore_case: bool = False, context_lines: int = 0, max_matches: int = MAX_MATCHES,
    ) -> GrepResult:
        """Search every document line by line for a regular expression (Python re syntax).

        Returns a list of matches, each with .path, .line_no (from 1), .line, and .before /
        .after (context_lines lines each side) and .page for PDFs; printing it shows
        `path:line: text`. paths: a path, a glob ("src/*.py", "*.md") or a list of them.
        Stops after max_matches and says so (result.truncated). Use re.escape(s) for literal s.
        """
        regex = compile_pattern(pattern, ignore_case)
        found: list[Match] = []
        truncated = False
        for document in self._select(paths):
            matches, truncated = document._grep(regex, context_lines, max_matches - len(found))
            found.extend(matches)
            if truncated:
                break
        return GrepResult(found, pattern=regex.pattern, max_matches=max_matches, truncated=truncated)

    def _select(self, paths: str | Iterable[str] | None) -> list[Document]:
        if paths is None:
            return self.documents
        wanted = [paths] if isinstance(paths, str) else list(paths)
        return [
            document for document in self.documents
            if any(
                document.path == pattern or fnmatch.fnmatchcase(document.path, pattern)
                or ("/" not in pattern and fnmatch.fnmatchcase(document.path.rsplit("/", 1)[-1], pattern))
                for pattern in wanted
            )
        ]

    def chunks(self, max_chars: int, overlap: int = 0, by: str = "lines") -> list[Chunk]:
        """Pieces of at most max_chars characters, ready for llm_batch; each knows its source.

        by="lines": the joined text cut after a newline (a chunk may span several files).
        by="files": whole documents packed together; a document larger than max_chars is cut
        by lines. overlap repeats that many characters (whole lines where possible) between
        neighbouring pieces. Each chunk is a str with .path, .paths, .start, .end, .number.
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
        for index, (start, end, text) in enumerate(spans):
            yield Chunk(text, number=index, start=start, end=end, paths=self._paths_between(start, end))

    def _paths_between(self, start: int, end: int) -> tuple[str, ...]:
        starts = self._starts()
        first = max(0, bisect.bisect_right(starts, start) - 1)
        last = bisect.bisect_left(starts, end)
        return tuple(document.path for document in self.documents[first:last])

    def summary(self) -> dict[str, int]:
        """Counts for the run summary and the `--json` input block."""
        return {
            "documents": len(self.documents),
            "bytes": sum(document.size for document in self.documents),
            "skipped": len(self.skipped),
        }

    def describe(self, max_chars: int = 4000) -> str:
        """A bounded overview for the root model: counts, sizes, encodings, a capped tree, a preview."""
        return overview(self, max_chars)

    def __repr__(self) -> str:
        summary = self.summary()
        skipped = f", {summary['skipped']} skipped" if summary["skipped"] else ""
        return (
            f"<Corpus: {summary['documents']:,} documents, {human(summary['bytes'])}{skipped}. "
            "print(context.describe()) for an overview, help(context) for what it can do>"
        )


def load_manifest(path: str | Path) -> Corpus:
    """Rebuild the Corpus a manifest file describes (documents stay on disk until read)."""
    return Corpus.from_manifest(json.loads(Path(path).read_text(encoding="utf-8")))

