"""Scans of a document: grep through a literal prefilter, counts, line numbers from newlines.

A mapped document is scanned as encoded bytes, so nothing is decoded but the lines that hold a
candidate: literals are found with bytes.find (memchr speed), line numbers are counted newlines.
Only encodings where that is exact take this path: UTF-8 (self-synchronising) and single-byte
ASCII-compatible ones. A str in memory is scanned the same way with str.find. Standard library only.
"""

from __future__ import annotations

import codecs
import heapq
import re
from collections.abc import Callable, Iterator
from typing import AnyStr, Generic, Protocol

from rlm_cli.corpus.grep import Match
from rlm_cli.corpus.literals import prefilter

WINDOW = 8 * 1024 * 1024  # bytes read at a time when counting or folding case
_SAMPLE = 256 * 1024  # bytes looked at to pick a needle's rarest character
_RARE_EVERY = 4096  # a character is rare when it occurs at most once per this many in the sample
_EXACT_CODECS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1"})


class Source(Protocol[AnyStr]):
    """A text's bytes (or characters): read a range, find forwards and backwards within one."""

    def read(self, start: int, end: int) -> AnyStr: ...

    def find(self, sub: AnyStr, start: int, end: int) -> int: ...

    def rfind(self, sub: AnyStr, start: int, end: int) -> int: ...

    def count(self, sub: AnyStr, start: int, end: int) -> int: ...


ByteSource = Source[bytes]


class TextSource:
    """A str in memory as a Source: the str form's text is searched in place."""

    def __init__(self, text: str) -> None:
        self._text = text

    def read(self, start: int, end: int) -> str:
        return str.__getitem__(self._text, slice(start, end))

    def find(self, sub: str, start: int, end: int) -> int:
        return str.find(self._text, sub, start, end)

    def rfind(self, sub: str, start: int, end: int) -> int:
        return str.rfind(self._text, sub, start, end)

    def count(self, sub: str, start: int, end: int) -> int:
        return str.count(self._text, sub, start, end)


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


class Scanner(Generic[AnyStr]):
    """Scans of one document, [start:end) of a source: the encoded bytes of a file, or a str."""

    def __init__(
        self, source: Source[AnyStr], start: int, end: int, *, newline: AnyStr,
        encode: Callable[[str], AnyStr | None], decode: Callable[[AnyStr], str],
        newline_counts: dict[int, int] | None = None,
    ) -> None:
        """`newline_counts`: newlines per whole WINDOW from `start`, kept by the caller across scans."""
        self._source: Source[AnyStr] = source
        self._start, self._end = start, end
        self._newline: AnyStr = newline
        self._encode: Callable[[str], AnyStr | None] = encode
        self._decode_text: Callable[[AnyStr], str] = decode
        self._counts = {} if newline_counts is None else newline_counts

    def count(self, sub: str) -> int | None:
        """Non-overlapping occurrences of `sub` in the whole document, or None when bytes cannot say."""
        needle = self._encode(sub)
        if not needle:
            return None
        total, at = 0, self._start
        anchor = self._anchor(needle, folded=False)
        if anchor is not None:  # a rare needle: count where it is found
            while (hit := self._find(needle, at, anchor, folded=False)) != -1:
                total, at = total + 1, hit + len(needle)
            return total
        if isinstance(self._source, TextSource):  # in memory: one count, no windows to stitch
            return self._source.count(needle, self._start, self._end)
        while at < self._end:
            data = self._source.read(at, min(self._end, at + WINDOW + len(needle) - 1))
            total += data.count(needle)
            at += resume_after_count(data, needle) if at + len(data) < self._end else len(data)
        return total

    def find(self, sub: str) -> int | None:
        """The source position where `sub` first occurs (-1 if nowhere), or None when bytes cannot say."""
        needle = self._encode(sub)
        if not needle:
            return None
        return self._find(needle, self._start, self._anchor(needle, folded=False), folded=False)

    def newlines(self, start: int, end: int) -> int:
        """Newlines in the range [start:end) of the source."""
        total = 0
        while start < end:
            number = (start - self._start) // WINDOW
            window_start = self._start + number * WINDOW
            window_end = min(self._end, window_start + WINDOW)
            if start == window_start and window_end <= end:  # a whole window: counted once per document
                count = self._counts.get(number)
                if count is None:
                    count = self._counts[number] = self._source.count(self._newline, start, window_end)
                total += count
                start = window_end
            else:
                stop = min(end, window_end)
                total += self._source.count(self._newline, start, stop)
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
            text = self._decode_text(self._source.read(line_start, line_end))
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

    def _lines(self, needle: AnyStr, folded: bool) -> Iterator[tuple[int, int]]:
        """(start, end) of each line holding `needle`, in order; end excludes the newline."""
        at = self._start
        anchor = self._anchor(needle, folded)
        hits = self._folded_hits(needle) if folded and anchor is None else None
        while True:
            if hits is not None:
                hit = next((h for h in hits if h >= at), -1)
            else:
                hit = self._find(needle, at, anchor, folded)
            if hit == -1:
                return
            line_start = self._source.rfind(self._newline, self._start, hit) + 1 or self._start
            line_end = self._source.find(self._newline, hit, self._end)
            line_end = self._end if line_end == -1 else line_end
            yield line_start, line_end
            at = line_end + 1

    def _anchor(self, needle: AnyStr, folded: bool) -> tuple[int, list[AnyStr]] | None:
        """A character of `needle` rare in the document's start: its offset and its forms (both
        cases when `folded`), or None when every character is common.

        A single character is found with memchr, several times faster than a longer needle;
        each place it occurs is then checked for the whole needle.
        """
        sample = self._source.read(self._start, min(self._end, self._start + _SAMPLE))
        if len(needle) < 2 or not sample:
            return None
        best: tuple[int, int, list[AnyStr]] | None = None
        for offset in range(len(needle)):
            mark = needle[offset : offset + 1]
            forms = list(dict.fromkeys([mark, mark.upper()])) if folded else [mark]
            count = sum(sample.count(form) for form in forms)
            if best is None or count < best[0]:
                best = count, offset, forms
        assert best is not None
        count, offset, forms = best
        return (offset, forms) if count * _RARE_EVERY <= len(sample) else None

    def _find(self, needle: AnyStr, at: int, anchor: tuple[int, list[AnyStr]] | None, folded: bool) -> int:
        """Where `needle` next starts at or after `at` (compared lowercased when `folded`), or -1;
        through its rare character when it has one."""
        if anchor is None:
            return self._source.find(needle, at, self._end)
        offset, forms = anchor
        ahead = {form: self._source.find(form, at + offset, self._end) for form in forms}
        while ahead:
            form, found = min(ahead.items(), key=lambda item: item[1])
            if found == -1:
                del ahead[form]
                continue
            start = found - offset
            candidate = self._source.read(start, min(self._end, start + len(needle)))
            if (candidate.lower() if folded else candidate) == needle:
                return start
            ahead[form] = self._source.find(form, found + 1, self._end)
        return -1

    def _folded_hits(self, needle: AnyStr) -> Iterator[int]:
        """Where `needle` (lowercase ASCII) starts in the lowercased text, in order."""
        at = self._start
        while at < self._end:
            stop = min(self._end, at + WINDOW)
            data = _lowered(self._source.read(at, min(self._end, stop + len(needle) - 1)))
            position = 0
            while (hit := data.find(needle, position)) != -1:
                yield at + hit
                position = hit + 1
            at = stop

    def _before(self, line_start: int, wanted: int) -> list[str]:
        lines: list[str] = []
        start = line_start
        while len(lines) < wanted and start > self._start:
            previous = self._source.rfind(self._newline, self._start, start - 1) + 1 or self._start
            lines.append(self._decode(previous, start - 1))
            start = previous
        return lines[::-1]

    def _after(self, line_end: int, wanted: int) -> list[str]:
        lines: list[str] = []
        start = line_end + 1
        while len(lines) < wanted and start < self._end:
            end = self._source.find(self._newline, start, self._end)
            end = self._end if end == -1 else end
            lines.append(self._decode(start, end))
            start = end + 1
        return lines

    def _decode(self, start: int, end: int) -> str:
        return self._decode_text(self._source.read(start, end)).removesuffix("\r")


def byte_scanner(source: ByteSource, start: int, end: int, encoding: str, newline_counts: dict[int, int]) -> Scanner[bytes]:
    """Scans of the bytes [start:end) of a file in `encoding` (which byte_exact must accept)."""

    def encode(text: str) -> bytes | None:
        if "\ufffd" in text:  # also what undecodable bytes read as: not findable as bytes
            return None
        try:
            return text.encode(encoding)
        except UnicodeEncodeError:
            return None

    return Scanner(
        source, start, end, newline=b"\n", encode=encode,
        decode=lambda data: data.decode(encoding, errors="replace"), newline_counts=newline_counts,
    )


def text_scanner(text: str, start: int, end: int, newline_counts: dict[int, int]) -> Scanner[str]:
    """Scans of [start:end) of a str held in memory."""
    return Scanner(
        TextSource(text), start, end, newline="\n", encode=lambda sub: sub or None, decode=str,
        newline_counts=newline_counts,
    )


def _lowered(data: AnyStr) -> AnyStr:
    """`data` lowercased, each character staying where it was (ASCII letters at least)."""
    lowered = data.lower()
    if len(lowered) == len(data):  # only U+0130 lowercases to two characters
        return lowered
    assert isinstance(data, str)  # bytes.lower() keeps the length
    return data.translate(_ASCII_LOWER)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


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

