"""LazyCorpus: the joined text read from the documents' files on demand, never held whole.

`context` takes this form when a document is memory-mapped; the host also keeps its view of the
input in this form (documents read when used). Standard library only.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Iterator, Sequence

from rlm_cli.corpus.documents import Document, Info, MappedDocument
from rlm_cli.corpus.grep import Match, Searcher
from rlm_cli.corpus.joined import AnyDocument, CorpusMethods, Skipped, headers, numbers
from rlm_cli.corpus.readers import BLOCK, LoadedReader, TextCache
from rlm_cli.corpus.scan import byte_exact
from rlm_cli.corpus.text import TextLike

_STREAM_FROM = BLOCK  # bytes from which the host's view streams a document it would otherwise load


class LazyCorpus(CorpusMethods, TextLike):
    """All input documents as one text (`=== path ===` headers), read from their files in pieces.

    When memory-mapped (the input passed the mapping threshold) it is not a str: len(context),
    context[a:b], `x in context`, .count(), .find(), .grep(), .chunks() / .iter_chunks() work
    without loading it, and .lines() / .splitlines() / .split("\\n") are lazy sequences of lines;
    str(), re.*/json.loads on it, .split() and the other str methods are refused with a hint
    (use .grep, .iter_chunks, or str(context[a:b])).
    Also: .files, .documents, .read(path) / context[path], .describe().
    """

    def __init__(
        self, infos: Iterable[Info], skipped: Iterable[Skipped] = (), cache: TextCache | None = None,
        *, buffered: bool = False,
    ) -> None:
        """`buffered`: files read with pread, never memory-mapped, so a file truncated during the
        run gives an error rather than SIGBUS (the host's view); a large document the worker
        holds as a str is then streamed block by block too, so the host never holds its text."""
        self._infos = list(infos)
        self.skipped = list(skipped)
        self._headers = headers(self._infos)
        self._numbers = numbers(self._infos)
        self._layout: list[int] | None = None
        self._mapped = any(info.mapped for info in self._infos)
        shared = cache or TextCache()
        self._sources: list[MappedDocument | LoadedReader] = [
            MappedDocument(info, buffered=buffered) if info.mapped
            else MappedDocument(streamed, buffered=True) if buffered and (streamed := _streamed(info)) is not None
            else LoadedReader(
                info.file, info.encoding, info.chars, shared, functools.partial(_as_document, info=info),
                end=info.end, buffered=buffered,
            )
            for info in self._infos
        ]

    @property
    def mapped(self) -> bool:
        """True when a document is memory-mapped: then whole-text str operations are refused."""
        return self._mapped

    def _document(self, number: int) -> AnyDocument:
        source = self._sources[number]
        if isinstance(source, MappedDocument):
            return source
        text = source.text()
        assert isinstance(text, Document)  # the reader wraps what it reads
        return text

    def _grep_document(self, number: int, regex: Searcher, context_lines: int, limit: int) -> tuple[list[Match], bool]:
        return self._document(number)._grep(regex, context_lines, limit)

    def _known_length(self, number: int) -> int | None:
        known = self._sources[number].known_length
        return self._infos[number].chars if known is None else known  # chars: counted at ingest

    def _head(self, number: int, max_chars: int) -> str:
        return self._sources[number].head(max_chars)

    def _length(self, number: int) -> int:
        source, chars = self._sources[number], self._infos[number].chars
        if chars is not None:
            return chars
        return len(source) if isinstance(source, MappedDocument) else source.length

    def _starts(self) -> list[int]:
        """Where each document's header starts in the joined text (reads mapped lengths once)."""
        if self._layout is None:
            starts, at = [], 0
            for number, header in enumerate(self._headers):
                starts.append(at)
                at += len(header) + self._length(number) + 1
            self._layout = starts  # one assignment: concurrent readers see none or all of it
        return self._layout

    def __len__(self) -> int:
        if not self._infos:
            return 0
        return self._starts()[-1] + len(self._headers[-1]) + self._length(len(self._infos) - 1)

    def __bool__(self) -> bool:
        return bool(self._infos)

    def _pieces(self, start: int, end: int) -> Iterator[str]:
        starts = self._starts()
        number = max(0, bisect.bisect_right(starts, start) - 1)
        while number < len(starts) and starts[number] < end:
            header = self._headers[number]
            body = starts[number] + len(header)
            if start < body:
                yield header[max(0, start - starts[number]) : min(end, body) - starts[number]]
            body_end = body + self._length(number)
            if end > body and start < body_end:
                source = self._sources[number]
                read = source._pieces if isinstance(source, MappedDocument) else source.pieces
                yield from read(max(start, body) - body, min(end, body_end) - body)
            if start <= body_end < end and number + 1 < len(starts):
                yield "\n"
            number += 1

    def _line_parts(self) -> list[Sequence[str]] | None:
        parts: list[Sequence[str]] = []
        for number, header in enumerate(self._headers):
            if header:
                parts.append([header.removesuffix("\n")])
            document = self._document(number)
            if isinstance(document, MappedDocument):
                found = document._line_parts()
                if found is None:
                    return None
                parts += found
            else:
                parts.append(document.split("\n"))
        return parts

    def _per_document(self, sub: object, start: int | None, end: int | None) -> bool:
        """True when a whole-text search for `sub` can go document by document: mapped, and no
        newline in `sub`, so no occurrence spans a header or the newline between documents."""
        return self._mapped and start is None and end is None and isinstance(sub, str) and bool(sub) and "\n" not in sub

    def count(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """Non-overlapping occurrences of `sub` (as str.count); mapped documents are counted on bytes."""
        if not self._per_document(sub, start, end):
            return super().count(sub, start, end)
        return sum(header.count(sub) for header in self._headers) + sum(
            self._document(number).count(sub) for number in range(len(self._infos))
        )

    def find(self, sub: str, start: int | None = None, end: int | None = None) -> int:
        """Lowest offset where `sub` starts within [start:end], or -1 (as str.find)."""
        if not self._per_document(sub, start, end):
            return super().find(sub, start, end)
        for number, header in enumerate(self._headers):
            if (hit := header.find(sub)) != -1:
                return self._starts()[number] + hit
            if (hit := self._document(number).find(sub)) != -1:
                return self._starts()[number] + len(header) + hit
        return -1

    def __contains__(self, sub: object) -> bool:
        if not self._per_document(sub, None, None):
            return super().__contains__(sub)
        return any(sub in header or sub in self._document(number) for number, header in enumerate(self._headers))  # type: ignore[operator]  # sub is a str here

    def __getitem__(self, key: int | slice | str) -> str | AnyDocument:  # type: ignore[override]  # a str key gives a document
        if isinstance(key, str):
            return self.read(key)
        return super().__getitem__(key)


def _streamed(info: Info) -> Info | None:
    """A large text document read whole by the worker, as the host streams it (a UTF-8 BOM skipped
    like a mapped file's); None when small, a PDF, or in an encoding whose bytes cannot be scanned."""
    if info.size <= _STREAM_FROM or info.pages is not None:
        return None
    if info.encoding == "utf-8-sig":
        return info._replace(encoding="utf-8", offset=3)
    return info if byte_exact(info.encoding) else None


def _as_document(text: str, info: Info) -> Document:
    return Document(text, info)
