"""Byte scans of a document's file: grep through a literal prefilter, counts, line numbers from newlines.

Works on the encoded bytes, so nothing is decoded but the lines that hold a candidate: literals
are found with bytes.find (memchr speed), line numbers are counted newlines. Only encodings where
that is exact take this path: UTF-8 (self-synchronising) and single-byte ASCII-compatible ones.
Standard library only.
"""

from __future__ import annotations

import codecs
import heapq
import re
from collections.abc import Iterator
from typing import AnyStr, Protocol

from rlm_cli.corpus.grep import Match
from rlm_cli.corpus.literals import prefilter

WINDOW = 8 * 1024 * 1024  # bytes read at a time when counting or folding case
_EXACT_CODECS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1"})


class ByteSource(Protocol):
    """A file's bytes: read a range, find forwards and backwards within one."""

    def read(self, start: int, end: int) -> bytes: ...

    def find(self, sub: bytes, start: int, end: int) -> int: ...

    def rfind(self, sub: bytes, start: int, end: int) -> int: ...


def byte_exact(encoding: str) -> bool:
    """True when a byte search finds exactly what a search of the decoded text finds."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return False
    name = info.name
    return name in _EXACT_CODECS or name.startswith(("cp125", "iso8859-")) or _single_byte_ascii(info)


def _single_byte_ascii(info: codecs.CodecInfo) -> bool:
    try:
        decoded = bytes(range(256)).decode(info.name, errors="replace")
    except (UnicodeDecodeError, TypeError, LookupError):
        return False
    return len(decoded) == 256 and decoded[:128] == bytes(range(128)).decode("ascii")


class Scanner:
    """Byte scans of one document: the bytes of [start:end) of a source, in `encoding`."""

    def __init__(
        self, source: ByteSource, start: int, end: int, encoding: str, newline_counts: dict[int, int] | None = None,
    ) -> None:
        """`newline_counts`: newlines per whole WINDOW from `start`, kept by the caller across scans."""
        self._source, self._start, self._end, self._encoding = source, start, end, encoding
        self._counts = {} if newline_counts is None else newline_counts

    def _encode(self, text: str) -> bytes | None:
        if "\ufffd" in text:  # also what undecodable bytes read as: not findable as bytes
            return None
        try:
            return text.encode(self._encoding)
        except UnicodeEncodeError:
            return None

    def count(self, sub: str) -> int | None:
        """Non-overlapping occurrences of `sub` in the whole document, or None when bytes cannot say."""
        needle = self._encode(sub)
        if not needle:
            return None
        total, at = 0, self._start
        while at < self._end:
            data = self._source.read(at, min(self._end, at + WINDOW + len(needle) - 1))
            total += data.count(needle)
            at += resume_after_count(data, needle) if at + len(data) < self._end else len(data)
        return total

    def find(self, sub: str) -> int | None:
        """The byte position where `sub` first occurs (-1 if nowhere), or None when bytes cannot say."""
        needle = self._encode(sub)
        if not needle:
            return None
        return self._source.find(needle, self._start, self._end)

    def newlines(self, start: int, end: int) -> int:
        """Newlines in the byte range [start:end)."""
        total = 0
        while start < end:
            number = (start - self._start) // WINDOW
            window_start = self._start + number * WINDOW
            window_end = min(self._end, window_start + WINDOW)
            if start == window_start and window_end <= end:  # a whole window: counted once per document
                count = self._counts.get(number)
                if count is None:
                    count = self._counts[number] = self._source.read(start, window_end).count(b"\n")
                total += count
                start = window_end
            else:
                stop = min(end, window_end)
                total += self._source.read(start, stop).count(b"\n")
                start = stop
        return total

    def grep(self, regex: re.Pattern[str], path: str, context_lines: int, limit: int) -> tuple[list[Match], bool] | None:
        """Matches (one per line) as the line-by-line search finds them; None when the pattern has no prefilter."""
        found = prefilter(regex)
        if found is None:
            return None
        needles = [self._encode(literal) for literal in found.literals]
        if not all(needles):
            return None
        spans = _merged([self._lines(needle, found.folded) for needle in needles if needle])
        matches: list[Match] = []
        line_no, counted = 1, self._start
        for line_start, line_end in spans:
            text = self._source.read(line_start, line_end).decode(self._encoding, errors="replace")
            hit = regex.search(text)
            if hit is None:
                continue
            if len(matches) == limit:
                return matches, True
            line_no += self.newlines(counted, line_start)
            counted = line_start
            match = Match(path, line_no, text.removesuffix("\r"), column=hit.start())
            if context_lines:
                match.before = self._before(line_start, context_lines)
                match.after = self._after(line_end, context_lines)
            matches.append(match)
        return matches, False

    def _lines(self, needle: bytes, folded: bool) -> Iterator[tuple[int, int]]:
        """(start, end) of each line holding `needle`, in order; end excludes the newline."""
        at = self._start
        hits = self._folded_hits(needle) if folded else None
        while True:
            hit = next((h for h in hits if h >= at), -1) if hits is not None else self._source.find(needle, at, self._end)
            if hit == -1:
                return
            line_start = self._source.rfind(b"\n", self._start, hit) + 1 or self._start
            line_end = self._source.find(b"\n", hit, self._end)
            line_end = self._end if line_end == -1 else line_end
            yield line_start, line_end
            at = line_end + 1

    def _folded_hits(self, needle: bytes) -> Iterator[int]:
        """Where `needle` (lowercase ASCII) starts in the ASCII-lowercased bytes, in order."""
        at = self._start
        while at < self._end:
            stop = min(self._end, at + WINDOW)
            data = self._source.read(at, min(self._end, stop + len(needle) - 1)).lower()
            position = 0
            while (hit := data.find(needle, position)) != -1:
                yield at + hit
                position = hit + 1
            at = stop

    def _before(self, line_start: int, wanted: int) -> list[str]:
        lines: list[str] = []
        start = line_start
        while len(lines) < wanted and start > self._start:
            previous = self._source.rfind(b"\n", self._start, start - 1) + 1 or self._start
            lines.append(self._decode(previous, start - 1))
            start = previous
        return lines[::-1]

    def _after(self, line_end: int, wanted: int) -> list[str]:
        lines: list[str] = []
        start = line_end + 1
        while len(lines) < wanted and start < self._end:
            end = self._source.find(b"\n", start, self._end)
            end = self._end if end == -1 else end
            lines.append(self._decode(start, end))
            start = end + 1
        return lines

    def _decode(self, start: int, end: int) -> str:
        return self._source.read(start, end).decode(self._encoding, errors="replace").removesuffix("\r")


def _merged(streams: list[Iterator[tuple[int, int]]]) -> Iterator[tuple[int, int]]:
    """Line spans from several streams in file order, each line once."""
    last = -1
    for span in heapq.merge(*streams) if len(streams) > 1 else streams[0]:
        if span[0] > last:
            last = span[0]
            yield span


def resume_after_count(buffer: AnyStr, sub: AnyStr) -> int:
    """Where counting must resume in `buffer`: after its last counted match, or len(sub)-1 from the end."""
    resume = len(buffer) - len(sub) + 1
    last = buffer.rfind(sub)
    if last == -1 or last + len(sub) <= resume:
        return resume
    if not any(sub[:size] == sub[-size:] for size in range(1, len(sub))):
        return last + len(sub)  # occurrences cannot overlap, so the last one was counted
    position = end = 0
    while (position := buffer.find(sub, position)) != -1:
        position = end = position + len(sub)
    return max(resume, end)

