"""Corpus: the input held in memory as one real str (`=== path ===` headers between documents).

Standard library only.
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, SupportsIndex

from rlm_cli.corpus.documents import Document, Info, grep_text
from rlm_cli.corpus.filled import filled
from rlm_cli.corpus.grep import Match, Searcher
from rlm_cli.corpus.joined import CorpusMethods, Skipped, headers, numbers
from rlm_cli.corpus.lines import Lines, text_lines
from rlm_cli.corpus.readers import BLOCK, read_text, text_pieces
from rlm_cli.corpus.scan import text_scanner

_FILL_FROM = BLOCK  # input bytes from which the text is read into the corpus in place (see filled)


class Corpus(CorpusMethods, str):
    """The input as a str: every document as `=== path ===` then its text, joined by newlines.

    A single document is its text alone, with no header, so a piped log reads exactly as it is.
    Everything str does works as on that text (re.findall(p, context), json.loads(context),
    slices, +, f-strings); str methods return plain str. context[path] (a str key) reads one
    document; int and slice keys index the text. Also: .files, .documents (each a str with
    .path), .read(path), .grep(pattern), .chunks(max_chars) / .iter_chunks(), .locate(offset),
    .describe(), .summary(), .skipped. repr() is a short summary, not the text: print(context)
    or a slice shows the text.
    """

    def __new__(cls, text: str, infos: Sequence[Info], starts: Sequence[int], skipped: Iterable[Skipped] = ()) -> Corpus:
        """`starts`: where each document's header starts in `text` (as joined_text gives)."""
        return super().__new__(cls, text)._with(infos, starts, skipped)

    def _with(self, infos: Sequence[Info], starts: Sequence[int], skipped: Iterable[Skipped]) -> Corpus:
        self._infos = list(infos)
        self.skipped = list(skipped)
        self._headers = headers(self._infos)
        self._numbers = numbers(self._infos)
        self._layout = list(starts)
        self._made = weakref.WeakValueDictionary()
        self._made_lock = threading.Lock()
        self._newline_counts = {}
        return self

    _layout: list[int]
    _made: weakref.WeakValueDictionary[int, Document]
    _made_lock: threading.Lock
    _newline_counts: dict[int, dict[int, int]]  # per document: newlines per scan window, for grep

    @classmethod
    def from_infos(cls, infos: Sequence[Info], skipped: Iterable[Skipped] = ()) -> Corpus:
        """Read every document and join them; a large input is read twice, a block at a time,
        into the corpus itself (see filled), so its text is never held twice."""
        if sum(info.size for info in infos) <= _FILL_FROM:
            text, starts = joined_text(infos)
            return cls(text, infos, starts, skipped)
        lengths: list[int] = []
        try:
            corpus = filled(cls, functools.partial(_joined_pieces, infos, lengths))
        except ValueError:  # a file rewritten between the two readings: read it once, whole
            text, starts = joined_text(infos)
            return cls(text, infos, starts, skipped)
        starts = list(itertools.accumulate(lengths[:-1], initial=0))
        return corpus._with(infos, starts, skipped)

    @property
    def mapped(self) -> bool:
        """False: this form is a str held in memory (see LazyCorpus for the mapped form)."""
        return False

    @property
    def text(self) -> str:
        """The joined text (the corpus itself: it is a str)."""
        return self

    def __str__(self) -> str:
        return self  # already a str: no copy of a large text

    def __reduce__(self) -> tuple[Any, ...]:
        return Corpus, (str.__getitem__(self, slice(None)), self._infos, self._layout, self.skipped)

    def __getitem__(self, key: SupportsIndex | slice | str) -> str:
        if isinstance(key, str):
            return self._document(self._number(key))
        return str.__getitem__(self, key)

    def _slice(self, start: int, end: int) -> str:
        return str.__getitem__(self, slice(start, end))

    def count(self, sub: str, start: SupportsIndex | None = None, end: SupportsIndex | None = None) -> int:
        """As str.count; over the whole text, a rare `sub` is counted where memchr finds its rarest character."""
        if start is None and end is None and isinstance(sub, str):
            counted = text_scanner(self, 0, len(self), {}).count(sub)
            if counted is not None:
                return counted
        return str.count(self, sub, start, end)

    def lines(self) -> Lines:
        """The lines without their ends, as a lazy sequence (len, index, slice, iterate) split at
        "\\n" and "\\r\\n": unlike splitlines(), no list of every line is made."""
        return Lines([text_lines(self, 0, len(self))], splitlines=True)

    def _starts(self) -> list[int]:
        return self._layout

    def _bounds(self, number: int) -> tuple[int, int]:
        body = self._layout[number] + len(self._headers[number])
        end = self._layout[number + 1] - 1 if number + 1 < len(self._layout) else len(self)
        return body, end

    def _document(self, number: int) -> Document:
        with self._made_lock:
            document = self._made.get(number)
            if document is None:
                body, end = self._bounds(number)
                whole = body == 0 and end == len(self)
                document = Document(self if whole else self._slice(body, end), self._infos[number])
                self._made[number] = document
        return document

    def _grep_document(self, number: int, regex: Searcher, context_lines: int, limit: int) -> tuple[list[Match], bool]:
        body, end = self._bounds(number)
        counts = self._newline_counts.setdefault(number, {})
        return grep_text(self._infos[number], self, body, end, regex, context_lines, limit, counts)  # no Document copy

    def _known_length(self, number: int) -> int:
        body, end = self._bounds(number)
        return end - body

    def _head(self, number: int, max_chars: int) -> str:
        body, end = self._bounds(number)
        return self._slice(body, min(end, body + max_chars))


def _joined_pieces(infos: Sequence[Info], lengths: list[int]) -> Iterator[str]:
    """The joined text in pieces, each document read a block at a time; `lengths` is refilled
    with each document's length in the joined text (its header and the newline after it too)."""
    lengths.clear()
    for number, (header, info) in enumerate(zip(headers(infos), infos, strict=True)):
        yield header
        chars = len(header) + (number + 1 < len(infos))
        for piece in text_pieces(info.file, info.encoding, info.end):
            chars += len(piece)
            yield piece
        if number + 1 < len(infos):
            yield "\n"
        lengths.append(chars)


def joined_text(infos: Sequence[Info]) -> tuple[str, list[int]]:
    """The joined text of the documents and where each header starts; each file read once."""
    if len(infos) == 1:
        return read_text(infos[0].file, infos[0].encoding, infos[0].end), [0]
    parts: list[str] = []
    starts, at = [], 0
    for header, info in zip(headers(infos), infos, strict=True):
        text = read_text(info.file, info.encoding, info.end)
        starts.append(at)
        parts += [header, text, "\n"]
        at += len(header) + len(text) + 1
    return "".join(parts[:-1]), starts
